// Command pngcheck fails when a PNG screenshot is blank: it needs enough
// pixels that differ from the dominant background colour, so a page that
// rendered nothing (or only its background) is caught. Used by
// `make bench-html-check`.
//
//	pngcheck FILE.png [MIN_FRACTION]
package main

import (
	"fmt"
	"image"
	"image/png"
	"os"
	"strconv"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: pngcheck FILE.png [MIN_FRACTION (default 0.01)]")
		os.Exit(2)
	}
	minFrac := 0.01
	if len(os.Args) > 2 {
		v, err := strconv.ParseFloat(os.Args[2], 64)
		if err != nil {
			fmt.Fprintln(os.Stderr, "pngcheck: MIN_FRACTION:", err)
			os.Exit(2)
		}
		minFrac = v
	}
	frac, colors, err := inkFraction(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "pngcheck:", err)
		os.Exit(1)
	}
	if frac < minFrac || colors < 3 {
		fmt.Fprintf(os.Stderr, "pngcheck: %s looks blank: %.2f%% of pixels differ from the background, %d colours\n", os.Args[1], frac*100, colors)
		os.Exit(1)
	}
	fmt.Printf("pngcheck: %s rendered: %.2f%% of pixels differ from the background, %d colours\n", os.Args[1], frac*100, colors)
}

// inkFraction returns the fraction of pixels that differ from the most
// common colour, and the number of distinct colours.
func inkFraction(path string) (float64, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	return ink(img)
}

func ink(img image.Image) (float64, int, error) {
	b := img.Bounds()
	if b.Empty() {
		return 0, 0, fmt.Errorf("empty image")
	}
	counts := map[uint64]int{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			counts[uint64(r>>8)<<24|uint64(g>>8)<<16|uint64(bl>>8)<<8|uint64(a>>8)]++
		}
	}
	top := 0
	for _, n := range counts {
		top = max(top, n)
	}
	total := b.Dx() * b.Dy()
	return float64(total-top) / float64(total), len(counts), nil
}
