package autodeps

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// imageType is libmagic's PNG and GIF magic; "" for anything else.
func imageType(b []byte) string {
	if bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR")) && len(b) >= 29 {
		h := b[16:]
		s := fmt.Sprintf("PNG image data, %d x %d, %d-bit", binary.BigEndian.Uint32(h), binary.BigEndian.Uint32(h[4:]), h[8])
		switch h[9] {
		case 0:
			s += " grayscale,"
		case 2:
			s += "/color RGB,"
		case 3:
			s += " colormap,"
		case 4:
			s += " gray+alpha,"
		case 6:
			s += "/color RGBA,"
		}
		switch h[12] {
		case 0:
			s += " non-interlaced"
		case 1:
			s += " interlaced"
		}
		return s
	}
	if bytes.HasPrefix(b, []byte("GIF8")) {
		s := "GIF image data"
		if len(b) >= 6 && (string(b[4:6]) == "7a" || string(b[4:6]) == "9a") {
			s += ", version 8" + string(b[4:6]) + ","
		}
		if len(b) >= 10 {
			if w := binary.LittleEndian.Uint16(b[6:]); w > 0 {
				s += fmt.Sprintf(" %d x", w)
			}
			if h := binary.LittleEndian.Uint16(b[8:]); h > 0 {
				s += fmt.Sprintf(" %d", h)
			}
		}
		return s
	}
	return ""
}
