package scan

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Formats accepted by Write.
const (
	FormatMarkdown = "md"
	FormatJSON     = "json"
)

// Write renders the report as Markdown (FormatMarkdown, also "") or indented
// JSON (FormatJSON).
func (r Report) Write(w io.Writer, format string) error {
	switch format {
	case "", FormatMarkdown, "markdown":
		return r.WriteMarkdown(w)
	case FormatJSON:
		return r.WriteJSON(w)
	}
	return fmt.Errorf("scan report: format %q: want %q or %q", format, FormatMarkdown, FormatJSON)
}

// WriteJSON renders the report as indented JSON.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("scan report: %w", err)
	}
	return nil
}

// maxListed bounds the Ingresses named per annotation row.
const maxListed = 5

// WriteMarkdown renders the report as Markdown tables.
func (r Report) WriteMarkdown(w io.Writer) error {
	b := &strings.Builder{}
	fmt.Fprintf(b, "# Migration readiness: %s\n\n", mdEscape(r.Candidate))
	if r.Source != "" {
		fmt.Fprintf(b, "Source: %s\n\n", mdEscape(r.Source))
	}
	s := r.Summary
	fmt.Fprintf(b, "%d Ingresses: %d ready, %d blocked. Annotation keys in use: %d supported, %d variant, %d unsupported, %d other.\n\n",
		r.Ingresses, s.Ready, s.Blocked, s.Supported, s.Variant, s.Unsupported, s.Other)
	if len(r.Annotations) > 0 {
		b.WriteString("## Annotations in use\n\n| Annotation | Feature | Verdict | Ingresses | Invalid values | Note | Used by |\n|---|---|---|---:|---:|---|---|\n")
		for _, u := range r.Annotations {
			used := u.Ingresses
			more := ""
			if len(used) > maxListed {
				more = fmt.Sprintf(", +%d more", len(used)-maxListed)
				used = used[:maxListed]
			}
			note := u.Note
			if u.InvalidExample != "" {
				note = strings.TrimPrefix(note+"; e.g. "+u.InvalidExample, "; ")
			}
			fmt.Fprintf(b, "| `%s` | %s | %s | %d | %d | %s | %s%s |\n", mdEscape(u.Key), mdEscape(u.Feature), u.Verdict, u.Count, u.Invalid,
				mdEscape(note), mdEscape(strings.Join(used, ", ")), more)
		}
		b.WriteString("\n")
	}
	r.writeBehaviour(b)
	if len(r.Blocked) > 0 {
		b.WriteString("## Blocked Ingresses\n\n| Ingress | Unsupported or invalid annotations |\n|---|---|\n")
		for _, bl := range r.Blocked {
			fmt.Fprintf(b, "| %s | %s |\n", mdEscape(bl.Ingress), mdEscape(strings.Join(bl.Keys, ", ")))
		}
		b.WriteString("\n")
	}
	b.WriteString("Verdicts: supported = same behaviour; variant = supported with documented differences; unsupported = missing (or refused); other = not a controller annotation.\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("scan report: %w", err)
	}
	return nil
}

// mdEscape keeps cluster-provided text from breaking the table: pipes,
// backticks and line breaks are escaped or replaced.
func mdEscape(s string) string {
	r := strings.NewReplacer("|", `\|`, "`", "'", "\r", " ", "\n", " ", "<", "&lt;", ">", "&gt;")
	return r.Replace(s)
}

// writeBehaviour renders, for the keys in use that annotation specs
// compared with a golden recording, whether they behaved the same and
// every difference with both values.
func (r Report) writeBehaviour(b *strings.Builder) {
	var rows []Usage
	for _, u := range r.Annotations {
		if u.Behaviour != nil {
			rows = append(rows, u)
		}
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(b, "## Behaviour compared with %s\n\n", mdEscape(rows[0].Behaviour.Golden))
	b.WriteString("What the annotation specs using each key observed on the candidate, field by field, against the golden recording.\n\n")
	b.WriteString("| Annotation | Behaves | Specs | Same fields | Documented variants | Unexpected |\n|---|---|---:|---:|---:|---:|\n")
	for _, u := range rows {
		bh := u.Behaviour
		fmt.Fprintf(b, "| `%s` | %s | %d | %d | %d | %d |\n", mdEscape(u.Key), bh.Behaves(), len(bh.Specs), bh.Fields.Same, bh.Fields.Variant, bh.Fields.Unexpected)
	}
	b.WriteString("\n")
	var diffs bool
	for _, u := range rows {
		if len(u.Behaviour.Differences) == 0 {
			continue
		}
		if !diffs {
			fmt.Fprintf(b, "### Differences\n\n| Annotation | Request | Field | %s | %s | Class |\n|---|---|---|---|---|---|\n", mdEscape(u.Behaviour.Golden), mdEscape(r.Candidate))
			diffs = true
		}
		for _, d := range u.Behaviour.Differences {
			class := d.Class
			if d.Reason != "" {
				class += ": " + d.Reason
			}
			fmt.Fprintf(b, "| `%s` | %s | %s | %s | %s | %s |\n", mdEscape(u.Key), mdEscape(d.Key), mdEscape(d.Field), mdEscape(d.Golden), mdEscape(d.Actual), mdEscape(class))
		}
		if u.Behaviour.More > 0 {
			fmt.Fprintf(b, "| `%s` | %d more in the JSON report | | | | |\n", mdEscape(u.Key), u.Behaviour.More)
		}
	}
	if diffs {
		b.WriteString("\n")
	}
}
