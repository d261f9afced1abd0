// goverify checks a trustkit transparency log with golang.org/x/mod/sumdb, an
// implementation that shares no code with trustkit.
//
//	goverify DIR VKEY REQUEST.json
//
// DIR holds the log as tlog-tiles serves it (checkpoint, tile/..., tile/entries/...).
// The program opens the checkpoint with the verifier key, recomputes the root from
// the entries alone, compares every tile with the hashes it computed, then proves
// and checks inclusion and consistency from the tiles, and checks the proofs given
// in REQUEST (made by trustkit). It prints one line per check and exits 1 on the
// first failure.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const height = 8

type inclusion struct {
	Index int64    `json:"index"`
	Entry string   `json:"entry"`
	Proof []string `json:"proof"`
}

type request struct {
	OldCheckpoint    string      `json:"old_checkpoint"`
	ConsistencyProof []string    `json:"consistency_proof"`
	Inclusions       []inclusion `json:"inclusions"`
}

func fail(format string, args ...interface{}) {
	fmt.Printf("FAIL: "+format+"\n", args...)
	os.Exit(1)
}

// ourPath maps x/mod's tile path (tile/H/L/N[.p/W], with the height in it) onto
// tlog-tiles' (tile/L/N[.p/W]); x/mod's level -1 is tlog-tiles' entries.
func ourPath(t tlog.Tile) string {
	rest := strings.TrimPrefix(t.Path(), fmt.Sprintf("tile/%d/", height))
	rest = strings.Replace(rest, "data/", "entries/", 1)
	return "tile/" + rest
}

func openCheckpoint(dir, name string, verifier note.Verifier) (int64, tlog.Hash) {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		fail("%v", err)
	}
	n, err := note.Open(data, note.VerifierList(verifier))
	if err != nil {
		fail("%s: %v", name, err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[0] != verifier.Name() {
		fail("%s: not a checkpoint of %s", name, verifier.Name())
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("%s: size: %v", name, err)
	}
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize {
		fail("%s: root hash", name)
	}
	var root tlog.Hash
	copy(root[:], raw)
	fmt.Printf("ok checkpoint %s: size %d, signed by %s\n", name, size, verifier.Name())
	return size, root
}

// fileTiles reads tiles for a tree of the given size. x/mod asks for a partial tile
// just wide enough for the hashes it needs; tlog-tiles serves only the widths of
// checkpointed sizes, so the served tile is read and cut to the width asked for
// (a narrower tile is a prefix of a wider one).
type fileTiles struct {
	dir  string
	size int64
}

func (f fileTiles) Height() int { return height }

func (f fileTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		served := t
		row := f.size >> (uint(height) * uint(t.L))
		if t.N < row>>height {
			served.W = 1 << height
		} else {
			served.W = int(row % (1 << height))
		}
		if served.W < t.W {
			return nil, fmt.Errorf("%s: past the tree of %d entries", ourPath(t), f.size)
		}
		data, err := os.ReadFile(filepath.Join(f.dir, ourPath(served)))
		if err != nil {
			return nil, err
		}
		if len(data) < t.W*tlog.HashSize {
			return nil, fmt.Errorf("%s: %d bytes", ourPath(served), len(data))
		}
		out[i] = data[:t.W*tlog.HashSize]
	}
	return out, nil
}

func (f fileTiles) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

func hashes(texts []string) []tlog.Hash {
	out := make([]tlog.Hash, len(texts))
	for i, text := range texts {
		raw, err := base64.StdEncoding.DecodeString(text)
		if err != nil || len(raw) != tlog.HashSize {
			fail("proof hash %d", i)
		}
		copy(out[i][:], raw)
	}
	return out
}

func readEntries(dir string, size int64) [][]byte {
	var entries [][]byte
	for n := int64(0); n*(1<<height) < size; n++ {
		w := size - n*(1<<height)
		if w > 1<<height {
			w = 1 << height
		}
		t := tlog.Tile{H: height, L: -1, N: n, W: int(w)}
		data, err := os.ReadFile(filepath.Join(dir, ourPath(t)))
		if err != nil {
			fail("%v", err)
		}
		count := 0
		for len(data) > 0 {
			if len(data) < 2 {
				fail("%s: truncated", ourPath(t))
			}
			length := int(binary.BigEndian.Uint16(data))
			if len(data) < 2+length {
				fail("%s: truncated entry", ourPath(t))
			}
			entries = append(entries, data[2:2+length])
			data = data[2+length:]
			count++
		}
		if count != int(w) {
			fail("%s: %d entries, not %d", ourPath(t), count, w)
		}
	}
	return entries
}

func main() {
	if len(os.Args) != 4 {
		fail("usage: goverify DIR VKEY REQUEST.json")
	}
	dir := os.Args[1]
	verifier, err := note.NewVerifier(os.Args[2])
	if err != nil {
		fail("verifier key: %v", err)
	}
	var req request
	raw, err := os.ReadFile(os.Args[3])
	if err == nil {
		err = json.Unmarshal(raw, &req)
	}
	if err != nil {
		fail("request: %v", err)
	}

	size, root := openCheckpoint(dir, "checkpoint", verifier)

	// The root recomputed from the entries alone, trusting no tile.
	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			out[i] = stored[x]
		}
		return out, nil
	})
	entries := readEntries(dir, size)
	for i, entry := range entries {
		more, err := tlog.StoredHashes(int64(i), entry, reader)
		if err != nil {
			fail("stored hashes: %v", err)
		}
		stored = append(stored, more...)
	}
	computed, err := tlog.TreeHash(size, reader)
	if err != nil {
		fail("tree hash: %v", err)
	}
	if computed != root {
		fail("the entries hash to %v, the checkpoint says %v", computed, root)
	}
	fmt.Printf("ok root recomputed from %d entries\n", len(entries))

	// Every tile the log must serve for this size, byte for byte. x/mod lists every
	// width of each partial tile; tlog-tiles serves only the one for this size.
	var tiles []tlog.Tile
	for _, t := range tlog.NewTiles(height, 0, size) {
		if t.W == 1<<height || int64(t.W) == (size>>(uint(height)*uint(t.L)))%(1<<height) {
			tiles = append(tiles, t)
		}
	}
	for _, t := range tiles {
		want, err := tlog.ReadTileData(t, reader)
		if err != nil {
			fail("tile data: %v", err)
		}
		got, err := os.ReadFile(filepath.Join(dir, ourPath(t)))
		if err != nil {
			fail("%v", err)
		}
		if !bytes.Equal(got, want) {
			fail("%s differs from the hashes of the entries", ourPath(t))
		}
	}
	fmt.Printf("ok %d tiles match the entries\n", len(tiles))

	thr := tlog.TileHashReader(tlog.Tree{N: size, Hash: root}, fileTiles{dir, size})
	for _, inc := range req.Inclusions {
		entry, err := base64.StdEncoding.DecodeString(inc.Entry)
		if err != nil {
			fail("entry: %v", err)
		}
		proof, err := tlog.ProveRecord(size, inc.Index, thr)
		if err != nil {
			fail("prove record %d: %v", inc.Index, err)
		}
		if err := tlog.CheckRecord(proof, size, root, inc.Index, tlog.RecordHash(entry)); err != nil {
			fail("record %d from the tiles: %v", inc.Index, err)
		}
		theirs := tlog.RecordProof(hashes(inc.Proof))
		if err := tlog.CheckRecord(theirs, size, root, inc.Index, tlog.RecordHash(entry)); err != nil {
			fail("record %d, trustkit's proof: %v", inc.Index, err)
		}
		fmt.Printf("ok inclusion of entry %d\n", inc.Index)
	}

	if req.OldCheckpoint != "" {
		oldSize, oldRoot := openCheckpoint(dir, req.OldCheckpoint, verifier)
		proof, err := tlog.ProveTree(size, oldSize, thr)
		if err != nil {
			fail("prove tree: %v", err)
		}
		if err := tlog.CheckTree(proof, size, root, oldSize, oldRoot); err != nil {
			fail("consistency from the tiles: %v", err)
		}
		theirs := tlog.TreeProof(hashes(req.ConsistencyProof))
		if err := tlog.CheckTree(theirs, size, root, oldSize, oldRoot); err != nil {
			fail("consistency, trustkit's proof: %v", err)
		}
		fmt.Printf("ok consistency %d -> %d\n", oldSize, size)
	}
}
