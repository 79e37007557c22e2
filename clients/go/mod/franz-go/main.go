// Interop probe: franz-go (github.com/twmb/franz-go) against one broker.
//
// usage: franz-go BOOTSTRAP | franz-go --version
//
// It sends ApiVersions through the client and runs franz-go's own broker-version
// detection on the answer (kversion.FromApiVersionsResponse(..).VersionGuess()), then a
// Metadata request for all topics, as kgo does for its own metadata. Exit 0 on success;
// on failure exit 1 with one line on stderr.
//
// franz-go's own log (kgo.WithLogger, kgo.BasicLogger at debug level: each request it writes
// and reads, with its version, and why a connection died) goes to stdout, every line starting
// "kgo <seconds since start>s ", so that it is in the matrix transcript whether the probe passes
// or fails, while a failure still leaves one line on stderr (clients/lib.sh keeps only the last
// stderr line). CLIENT_DEBUG=1 changes nothing here.
//
// The same source builds every franz-go corpus entry: clients/go/mod (franz-go, with sarama and
// kafka-go) and clients/go/franz-go-<version> (one pinned release each; main.go is a symlink
// to this file), so it uses only API that all of them have.
package main

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
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
	fmt.Fprintln(os.Stderr, "franz-go: "+msg)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: franz-go BOOTSTRAP | --version")
	}
	if os.Args[1] == "--version" {
		fmt.Printf("franz-go %s (pure Go, kmsg %s)\n", moduleVersion("github.com/twmb/franz-go"), moduleVersion("github.com/twmb/franz-go/pkg/kmsg"))
		return
	}
	bootstrap := os.Args[1]
	start := time.Now()
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(bootstrap),
		kgo.WithLogger(kgo.BasicLogger(os.Stdout, kgo.LogLevelDebug, func() string {
			return fmt.Sprintf("kgo %.3fs ", time.Since(start).Seconds())
		})),
		kgo.ClientID("kafka-matrix-interop-franz-go"),
		kgo.DialTimeout(5*time.Second),
		kgo.RetryTimeout(10*time.Second),
		kgo.RequestRetries(2),
	)
	if err != nil {
		fail("client: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()

	// Broker-version detection, as kcl / kadm do it.
	avReq := kmsg.NewPtrApiVersionsRequest()
	avReq.ClientSoftwareName = "kafka-matrix-interop"
	avReq.ClientSoftwareVersion = "1.0"
	avResp, err := avReq.RequestWith(ctx, cl)
	if err != nil {
		fail("ApiVersions: %v", err)
	}
	if err := kerr.ErrorForCode(avResp.ErrorCode); err != nil {
		fail("ApiVersions: %v", err)
	}
	guess := kversion.FromApiVersionsResponse(avResp).VersionGuess()

	mdReq := kmsg.NewPtrMetadataRequest() // Topics nil: all topics
	mdResp, err := mdReq.RequestWith(ctx, cl)
	if err != nil {
		fail("Metadata: %v", err)
	}
	brokers := make([]string, 0, len(mdResp.Brokers))
	for _, b := range mdResp.Brokers {
		brokers = append(brokers, fmt.Sprintf("%d@%s:%d", b.NodeID, b.Host, b.Port))
	}
	sort.Strings(brokers)
	topics := make([]string, 0, len(mdResp.Topics))
	for _, t := range mdResp.Topics {
		name := "<nil>"
		if t.Topic != nil {
			name = *t.Topic
		}
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			name += "!" + err.Error()
		}
		topics = append(topics, fmt.Sprintf("%s(%dp)", name, len(t.Partitions)))
	}
	sort.Strings(topics)
	cluster := "<none>"
	if mdResp.ClusterID != nil {
		cluster = *mdResp.ClusterID
	}
	fmt.Printf("franz-go %s: metadata v%d from %s, cluster id %s, controller %d\n",
		moduleVersion("github.com/twmb/franz-go"), mdResp.Version, bootstrap, cluster, mdResp.ControllerID)
	fmt.Printf("brokers: %d [%s]\n", len(brokers), strings.Join(brokers, ", "))
	fmt.Printf("topics: %d [%s]\n", len(topics), strings.Join(topics, ", "))
	fmt.Printf("detected: kversion guess %q from ApiVersions v%d (%d APIs)\n", guess, avResp.Version, len(avResp.ApiKeys))
}
