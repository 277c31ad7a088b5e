package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
	"time"
)

//go:embed report.html.tmpl
var htmlSource string

// page is parsed once; templates are safe for concurrent use once parsed.
var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"duration": func(secs float64) string {
		d := time.Duration(secs * float64(time.Second))
		if d > 0 && d < time.Millisecond {
			return "<1ms"
		}
		return d.Round(time.Millisecond).String()
	},
	"utc":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"lower": strings.ToLower,
}).Parse(htmlSource))

// componentView is one component's section of the page.
type componentView struct {
	ComponentCounts
	Specs []Spec
}

// WriteHTML writes report.html: one self-contained page (no network), every spec grouped by
// component, failures first, with counts per component, a filter by outcome and a search box.
// Loading it as report.html?outcome=failed&q=watch applies that filter and search.
func (r Results) WriteHTML(w io.Writer) error {
	var views []componentView
	for _, c := range r.ByComponent() {
		v := componentView{ComponentCounts: c}
		for _, s := range r.Specs {
			if s.Component == c.Component {
				v.Specs = append(v.Specs, s)
			}
		}
		slices.SortStableFunc(v.Specs, func(a, b Spec) int {
			if d := outcomeRank(a.Outcome) - outcomeRank(b.Outcome); d != 0 {
				return d
			}
			return strings.Compare(a.ID, b.ID)
		})
		views = append(views, v)
	}
	slices.SortStableFunc(views, func(a, b componentView) int { return strings.Compare(a.Component, b.Component) })
	data := struct {
		Results
		Components []componentView
		Outcomes   []Outcome
	}{r, views, Outcomes[:]}
	if err := page.Execute(w, data); err != nil {
		return fmt.Errorf("writing report.html: %w", err)
	}
	return nil
}

func outcomeRank(o Outcome) int { return slices.Index(Outcomes[:], o) }
