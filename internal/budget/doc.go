// Package budget holds envshare's performance budget as Go benchmarks; it has no code of its
// own. `make bench` runs them (go test -run '^$' -bench . -benchmem ./...). Each prints its
// measurements as benchmark metrics and asserts nothing about time: a budget is read, not
// enforced, because timings depend on the machine.
//
//	BenchmarkColdStartAWS     envshare_ms, hello_ms, ratio            target: ratio <= 1.3
//	BenchmarkHandlerShare     ns/op, allocs/op                        target: < 50 µs per request
//	BenchmarkZipSize          aws_arm64_MiB, aws_amd64_MiB, scf_MiB   target: < 8 MiB each
//	BenchmarkReconcile10kRSS  peak_rss_MiB, wall_ms                   no target: watch the trend
//
// # Cold start (BenchmarkColdStartAWS, Linux only)
//
// The release AWS binary (function/aws, built as build-aws builds it, for the host's
// architecture) and an aws-lambda-go hello-world (testdata/hello, same flags) each run under the
// AWS Lambda runtime interface emulator. One sample is the time from starting the emulator to
// the answer of the first invocation. For envshare that invocation does real work: a direct
// {"action":"bindings"} that reads the configuration, wires the service and calls the WeChat
// emulator (pkg/wxemu) on 127.0.0.1; the hello-world echoes its event. Each iteration starts
// both, in alternating order; envshare_ms and hello_ms are medians, ratio is the median of the
// iterations' envshare/hello, so that load which changes between iterations cancels out. Both
// samples include the emulator's own start (about the same for both), which makes the ratio a
// little kinder than one of the binaries alone. More samples: -benchtime=20x. The emulator binary is $ENVSHARE_RIE_BIN (the Makefile points
// it at ./bin/aws-lambda-rie, which it installs) or aws-lambda-rie on PATH; without it the
// benchmark is skipped.
//
// # Handler overhead (BenchmarkHandlerShare)
//
// One HTTP API v2-like POST /share (bearer auth, one env, three appids) through trigger.App:
// routing, auth, body decoding and validation, the real share.Service with its chunking and
// outcome bookkeeping, result encoding, and the JSON summary log line and EMF line, formatted
// as in production and written to io.Discard. The WeChat API is an in-memory share.Upstream that answers at once,
// so ns/op is envshare's own cost per request. The AWS event decoding of function/aws is not
// included: it lives in package main, which cannot be imported.
//
// # Deployment size (BenchmarkZipSize)
//
// The AWS bootstrap for arm64 and amd64 (-tags lambda.norpc) and the SCF main (amd64) are
// built as build-aws and build-scf build them (CGO_ENABLED=0, GOOS=linux, -trimpath,
// -buildvcs=false, -ldflags "-s -w") and zipped in memory with deflate. The metrics are the
// zip sizes; ns/op is the time to zip the three binaries. A manifest.json shipped beside the
// binary adds a few KiB and is not counted.
//
// # Memory of a large reconcile (BenchmarkReconcile10kRSS, Linux only)
//
// The release SCF binary runs as a child process, driven over the SCF net/rpc protocol by
// internal/rpcinvoke, so that the benchmark harness does not pollute the measurement. Each iteration
// starts it fresh and sends one timer event with an empty Message: the reconcile of
// ENVSHARE_MANIFEST, a file of 10,000 appids over 20 envs (500 each), 20% of them not yet shared
// (they end pending confirmation). The WeChat emulator runs in the benchmark process, reseeded
// every iteration. peak_rss_MiB is the child's VmHWM after the invocation; wall_ms the
// invocation's duration, with the default configuration (rate limit 50 calls/s, chunks of 100,
// concurrency 8: 120 upstream calls), so it is mostly the rate limit.
package budget
