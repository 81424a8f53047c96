package budget

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"io"
	"os"
	"testing"
	"time"
)

// BenchmarkZipSize builds the three release binaries once and reports the size of each
// deployment zip; each iteration zips them again.
func BenchmarkZipSize(b *testing.B) {
	dir := b.TempDir()
	packages := []struct {
		metric string // the reported size, in MiB
		name   string // the file name the platform runs
		binary string
	}{
		{"aws_arm64_MiB", "bootstrap", buildRelease(b, "./function/aws", "arm64", awsTags, dir, "aws-arm64")},
		{"aws_amd64_MiB", "bootstrap", buildRelease(b, "./function/aws", "amd64", awsTags, dir, "aws-amd64")},
		{"scf_MiB", "main", buildRelease(b, "./function/scf", "amd64", scfTags, dir, "scf")},
	}
	contents := make([][]byte, len(packages))
	for i, p := range packages {
		var err error
		if contents[i], err = os.ReadFile(p.binary); err != nil {
			b.Fatal(err)
		}
	}

	sizes := make([]int, len(packages))
	for b.Loop() {
		for i, p := range packages {
			sizes[i] = zipSize(b, p.name, contents[i])
		}
	}
	for i, p := range packages {
		b.ReportMetric(float64(sizes[i])/(1<<20), p.metric)
	}
}

// zipSize zips one executable, deflated at the best compression (as the Makefile's zip -9
// does: the zip shipped is the zip measured), and returns the zip's size in bytes.
func zipSize(b *testing.B, name string, content []byte) int {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestCompression)
	})
	h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)}
	h.SetMode(0o755) // the platform must be able to execute it
	w, err := zw.CreateHeader(h)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := w.Write(content); err != nil {
		b.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Len()
}
