// Interop probes on the newest Go clients that build with Debian's newest Go (golang-1.23 from
// bookworm-backports, 1.23.5, GOTOOLCHAIN=local). Built by scripts/install-clients.sh where the
// Go module proxy is reachable (GOFLAGS=-mod=mod fills go.sum). See docs/research/interop-corpus.md.
module kafka-matrix/clients/go

go 1.23.0

require (
	// v1.19.0+ needs go >= 1.23.8, v1.20+ go 1.24: v1.18.1 is the newest for Go 1.23.5.
	github.com/twmb/franz-go v1.18.1
	github.com/twmb/franz-go/pkg/kmsg v1.9.0
	// v1.46.1+ needs go 1.24: v1.46.0 (go 1.23.0) is the newest for Go 1.23.5.
	github.com/IBM/sarama v1.46.0
	// v0.4.50 (go 1.23) is the newest release.
	github.com/segmentio/kafka-go v0.4.50
)
