// Interop probe: Debian's kafka-go (golang-github-segmentio-kafka-go-dev, 0.2.1), built in
// GOPATH mode against /usr/share/gocode.
//
// usage: kafka-go-debian BOOTSTRAP | kafka-go-debian --version
//
// kafka-go 0.2 has no broker-version detection: Conn.ReadPartitions sends a fixed Metadata
// version for all topics. Prints topics and partition leaders. Exit 0 on success; 1 with
// one stderr line.
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

const kafkaGoVersion = "0.2.1"

func fail(format string, args ...interface{}) {
	msg := strings.Join(strings.Fields(fmt.Sprintf(format, args...)), " ")
	fmt.Fprintln(os.Stderr, "kafka-go-debian: "+msg)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: kafka-go-debian BOOTSTRAP | --version")
	}
	if os.Args[1] == "--version" {
		fmt.Printf("kafka-go-debian %s (pure Go, Debian golang-github-segmentio-kafka-go-dev, fixed protocol versions)\n", kafkaGoVersion)
		return
	}
	bootstrap := os.Args[1]
	dialer := &kafka.Dialer{Timeout: 5 * time.Second, ClientID: "kafka-matrix-interop-kafka-go-debian"}
	conn, err := dialer.Dial("tcp", bootstrap)
	if err != nil {
		fail("Dial: %v", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(15 * time.Second))
	parts, err := conn.ReadPartitions()
	if err != nil {
		fail("ReadPartitions: %v", err)
	}
	count := map[string]int{}
	leaders := map[string]bool{}
	for _, p := range parts {
		count[p.Topic]++
		leaders[fmt.Sprintf("%d@%s:%d", p.Leader.ID, p.Leader.Host, p.Leader.Port)] = true
	}
	topics := []string{}
	for t, n := range count {
		topics = append(topics, fmt.Sprintf("%s(%dp)", t, n))
	}
	sort.Strings(topics)
	ls := []string{}
	for l := range leaders {
		ls = append(ls, l)
	}
	sort.Strings(ls)
	fmt.Printf("kafka-go-debian %s: metadata from %s\n", kafkaGoVersion, bootstrap)
	fmt.Printf("partition leaders: %d [%s]\n", len(ls), strings.Join(ls, ", "))
	fmt.Printf("topics: %d [%s]\n", len(topics), strings.Join(topics, ", "))
	fmt.Println("detected: none (kafka-go 0.2 sends fixed request versions)")
}
