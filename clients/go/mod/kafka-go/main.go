// Interop probe: segmentio/kafka-go against one broker.
//
// usage: kafka-go BOOTSTRAP | kafka-go --version
//
// kafka.Client (the request/response API; its transport negotiates request versions with
// ApiVersions) sends ApiVersions, reported here as the detected protocol support, then
// Metadata for all topics. Exit 0 on success; on failure exit 1 with one stderr line.
package main

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
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
	fmt.Fprintln(os.Stderr, "kafka-go: "+msg)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: kafka-go BOOTSTRAP | --version")
	}
	if os.Args[1] == "--version" {
		fmt.Printf("kafka-go %s (pure Go)\n", moduleVersion("github.com/segmentio/kafka-go"))
		return
	}
	bootstrap := os.Args[1]
	client := &kafka.Client{
		Addr:      kafka.TCP(bootstrap),
		Timeout:   15 * time.Second,
		Transport: &kafka.Transport{ClientID: "kafka-matrix-interop-kafka-go", DialTimeout: 5 * time.Second},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()

	av, err := client.ApiVersions(ctx, &kafka.ApiVersionsRequest{})
	if err != nil {
		fail("ApiVersions: %v", err)
	}
	if av.Error != nil {
		fail("ApiVersions: %v", av.Error)
	}
	maxOf := func(key int) string {
		for _, k := range av.ApiKeys {
			if k.ApiKey == key {
				return fmt.Sprintf("v%d", k.MaxVersion)
			}
		}
		return "none"
	}

	md, err := client.Metadata(ctx, &kafka.MetadataRequest{})
	if err != nil {
		fail("Metadata: %v", err)
	}
	brokers := []string{}
	for _, b := range md.Brokers {
		brokers = append(brokers, fmt.Sprintf("%d@%s:%d", b.ID, b.Host, b.Port))
	}
	sort.Strings(brokers)
	topics := []string{}
	for _, t := range md.Topics {
		name := t.Name
		if t.Error != nil {
			name += "!" + t.Error.Error()
		}
		topics = append(topics, fmt.Sprintf("%s(%dp)", name, len(t.Partitions)))
	}
	sort.Strings(topics)
	fmt.Printf("kafka-go %s: metadata from %s, cluster id %s, controller %d\n",
		moduleVersion("github.com/segmentio/kafka-go"), bootstrap, md.ClusterID, md.Controller.ID)
	fmt.Printf("brokers: %d [%s]\n", len(brokers), strings.Join(brokers, ", "))
	fmt.Printf("topics: %d [%s]\n", len(topics), strings.Join(topics, ", "))
	fmt.Printf("detected: ApiVersions: %d APIs, Metadata up to %s, Fetch up to %s, Produce up to %s\n",
		len(av.ApiKeys), maxOf(3), maxOf(1), maxOf(0))
}
