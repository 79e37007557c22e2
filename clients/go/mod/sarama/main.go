// Interop probe: IBM/sarama against one broker.
//
// usage: sarama BOOTSTRAP | sarama --version
//
// sarama.NewClient fetches cluster metadata (brokers, topics, controller) the way every
// sarama producer and consumer starts. Sarama has no Kafka-version guess of its own: it
// uses Config.Version (default here) and, with Config.ApiVersionsRequest (default true),
// sends ApiVersions on each connection; this probe sends ApiVersions itself and reports the
// highest Metadata and Fetch versions offered. Exit 0 on success; 1 with one stderr line.
package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/IBM/sarama"
)

// versionOverride is "path=version,..." set with -ldflags -X for builds without module
// information (GOPATH mode: a source snapshot built where the module proxy is unreachable).
var versionOverride string

func moduleVersion(path string) string {
	for _, kv := range strings.Split(versionOverride, ",") {
		if p, v, ok := strings.Cut(kv, "="); ok && p == path {
			return v
		}
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == path {
				if d.Replace != nil && d.Replace.Version != "" {
					return d.Replace.Version
				}
				return d.Version
			}
		}
	}
	return "unknown"
}

func fail(format string, args ...any) {
	msg := strings.Join(strings.Fields(fmt.Sprintf(format, args...)), " ")
	fmt.Fprintln(os.Stderr, "sarama: "+msg)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: sarama BOOTSTRAP | --version")
	}
	if os.Args[1] == "--version" {
		fmt.Printf("sarama %s (pure Go, default protocol version %s)\n", moduleVersion("github.com/IBM/sarama"), sarama.DefaultVersion)
		return
	}
	bootstrap := os.Args[1]
	cfg := sarama.NewConfig()
	cfg.ClientID = "kafka-matrix-interop-sarama"
	cfg.Net.DialTimeout = 5 * time.Second
	cfg.Net.ReadTimeout = 10 * time.Second
	cfg.Net.WriteTimeout = 10 * time.Second
	cfg.Metadata.Retry.Max = 1
	cfg.Metadata.Timeout = 15 * time.Second

	client, err := sarama.NewClient([]string{bootstrap}, cfg)
	if err != nil {
		fail("NewClient: %v", err)
	}
	defer client.Close()
	topicNames, err := client.Topics()
	if err != nil {
		fail("Topics: %v", err)
	}
	sort.Strings(topicNames)
	brokers := []string{}
	for _, b := range client.Brokers() {
		brokers = append(brokers, fmt.Sprintf("%d@%s", b.ID(), b.Addr()))
	}
	sort.Strings(brokers)
	controller := "?"
	if c, err := client.Controller(); err == nil {
		controller = fmt.Sprint(c.ID())
	}

	// ApiVersions on its own connection, at the newest request version sarama knows (v3 needs
	// Config.Version >= 2.4, or sarama refuses locally). A broker older than 2.4 answers v3 with
	// UNSUPPORTED_VERSION (35) and its own table; sarama then retries with v0, and so does this.
	avCfg := sarama.NewConfig()
	*avCfg = *cfg
	avCfg.Version = sarama.V2_4_0_0
	b := sarama.NewBroker(bootstrap)
	if err := b.Open(avCfg); err != nil {
		fail("ApiVersions connect: %v", err)
	}
	defer b.Close()
	req := &sarama.ApiVersionsRequest{Version: 3, ClientSoftwareName: "kafka-matrix-interop", ClientSoftwareVersion: "1.0"}
	resp, err := b.ApiVersions(req)
	if err == nil && resp.ErrorCode == int16(sarama.ErrUnsupportedVersion) {
		resp, err = b.ApiVersions(&sarama.ApiVersionsRequest{Version: 0})
	}
	if err != nil {
		fail("ApiVersions: %v", err)
	}
	if resp.ErrorCode != 0 {
		fail("ApiVersions: error code %d", resp.ErrorCode)
	}
	maxOf := func(key int16) string {
		for _, k := range resp.ApiKeys {
			if k.ApiKey == key {
				return fmt.Sprintf("v%d", k.MaxVersion)
			}
		}
		return "none"
	}
	fmt.Printf("sarama %s (config version %s): metadata from %s, controller %s\n",
		moduleVersion("github.com/IBM/sarama"), cfg.Version, bootstrap, controller)
	fmt.Printf("brokers: %d [%s]\n", len(brokers), strings.Join(brokers, ", "))
	fmt.Printf("topics: %d [%s]\n", len(topicNames), strings.Join(topicNames, ", "))
	fmt.Printf("detected: ApiVersions v%d: %d APIs, Metadata up to %s, Fetch up to %s, Produce up to %s\n",
		resp.Version, len(resp.ApiKeys), maxOf(3), maxOf(1), maxOf(0))
}
