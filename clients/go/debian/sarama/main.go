// Interop probe: Debian's sarama (golang-github-shopify-sarama-dev, 1.22.1, import path
// github.com/Shopify/sarama), built in GOPATH mode against /usr/share/gocode.
//
// usage: sarama-debian BOOTSTRAP | sarama-debian --version
//
// sarama.NewClient fetches cluster metadata with its default Config.Version (0.8.2: Metadata
// v0), as an unconfigured 2019 sarama application does; then an ApiVersions v0 request on its
// own connection reports what the broker offers. Exit 0 on success; 1 with one stderr line.
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/Shopify/sarama"
)

// The Debian package's version: GOPATH builds carry no module version.
const saramaVersion = "1.22.1"

func fail(format string, args ...interface{}) {
	msg := strings.Join(strings.Fields(fmt.Sprintf(format, args...)), " ")
	fmt.Fprintln(os.Stderr, "sarama-debian: "+msg)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: sarama-debian BOOTSTRAP | --version")
	}
	if os.Args[1] == "--version" {
		fmt.Printf("sarama-debian %s (pure Go, Debian golang-github-shopify-sarama-dev, default protocol version %s)\n", saramaVersion, sarama.NewConfig().Version)
		return
	}
	bootstrap := os.Args[1]
	cfg := sarama.NewConfig()
	cfg.ClientID = "kafka-matrix-interop-sarama-debian"
	cfg.Net.DialTimeout = 5 * time.Second
	cfg.Net.ReadTimeout = 10 * time.Second
	cfg.Net.WriteTimeout = 10 * time.Second
	cfg.Metadata.Retry.Max = 1

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

	// sarama refuses locally to send ApiVersions unless the configured version is >= 0.10.
	avCfg := sarama.NewConfig()
	*avCfg = *cfg
	avCfg.Version = sarama.V0_10_0_0
	b := sarama.NewBroker(bootstrap)
	if err := b.Open(avCfg); err != nil {
		fail("ApiVersions connect: %v", err)
	}
	defer b.Close()
	resp, err := b.ApiVersions(&sarama.ApiVersionsRequest{})
	if err != nil {
		fail("ApiVersions: %v", err)
	}
	if resp.Err != sarama.ErrNoError {
		fail("ApiVersions: %v", resp.Err)
	}
	maxOf := func(key int16) string {
		for _, k := range resp.ApiVersions {
			if k.ApiKey == key {
				return fmt.Sprintf("v%d", k.MaxVersion)
			}
		}
		return "none"
	}
	fmt.Printf("sarama-debian %s (config version %s): metadata from %s\n", saramaVersion, cfg.Version, bootstrap)
	fmt.Printf("brokers: %d [%s]\n", len(brokers), strings.Join(brokers, ", "))
	fmt.Printf("topics: %d [%s]\n", len(topicNames), strings.Join(topicNames, ", "))
	fmt.Printf("detected: ApiVersions v0: %d APIs, Metadata up to %s, Fetch up to %s, Produce up to %s\n",
		len(resp.ApiVersions), maxOf(3), maxOf(1), maxOf(0))
}
