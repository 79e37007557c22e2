// franz-go v1.19.0, pinned, for the interop corpus entry clients/franz-go-1.19.0. main.go is a symlink
// to the one franz-go probe (clients/go/mod/franz-go/main.go), built here against this module's
// own requirements; go.sum is committed (built with -mod=readonly). See clients/README.md.
module kafka-matrix/clients/go/franz-go-1.19.0

go 1.23.8

require (
	github.com/twmb/franz-go v1.19.0
	github.com/twmb/franz-go/pkg/kmsg v1.11.2
)

require (
	github.com/klauspost/compress v1.18.0 // indirect
	github.com/pierrec/lz4/v4 v4.1.22 // indirect
)
