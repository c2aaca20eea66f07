// Package logs writes and reads container log files in the CRI format:
//
//	2026-11-23T10:00:00.123456789Z stdout F hello world
//
// one entry per line: an RFC3339Nano UTC timestamp, the stream (stdout or
// stderr), a tag (F: a full line; P: a partial line, continued by the next
// entry of the same stream) and the content without its newline. Lines longer
// than MaxLineSize are split into P entries.
//
// A Writer rotates by size: when the current file would exceed MaxBytes it is
// renamed to PATH.1 (PATH.1 to PATH.2, ...) and a new PATH started, keeping at
// most MaxFiles files. Read walks the rotated files in order and supports
// tail, since and follow (polling; it follows across rotations).
package logs
