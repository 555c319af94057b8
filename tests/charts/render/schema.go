package main

// The values check `helm install` runs before it renders anything: the merged
// values against the chart's values.schema.json. Helm 3 uses a complete JSON
// Schema validator; this is the part of draft-07 the chart's schema uses, so the
// offline renderer refuses the same values. A keyword outside that part is an
// error when the schema is read, never silently ignored.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// kSchemaFile is where Helm looks for a chart's values schema.
const kSchemaFile = "values.schema.json"

// jsonSchema is one schema object. Annotation keywords are accepted and ignored,
// as validators do.
type jsonSchema struct {
	Type                 typeList               `json:"type"`
	Enum                 []interface{}          `json:"enum"`
	Minimum              *float64               `json:"minimum"`
	Maximum              *float64               `json:"maximum"`
	MinLength            *int                   `json:"minLength"`
	Pattern              string                 `json:"pattern"`
	Required             []string               `json:"required"`
	Properties           map[string]*jsonSchema `json:"properties"`
	AdditionalProperties *additional            `json:"additionalProperties"`
	Items                *jsonSchema            `json:"items"`
	MinItems             *int                   `json:"minItems"`
	MinProperties        *int                   `json:"minProperties"`

	Schema      string      `json:"$schema"`
	ID          string      `json:"$id"`
	Comment     string      `json:"$comment"`
	Title       string      `json:"title"`
	Description string      `json:"description"`
	Default     interface{} `json:"default"`
	Examples    interface{} `json:"examples"`

	pattern *regexp.Regexp
}

// typeList reads "type" as one name or a list of names.
type typeList []string

func (t *typeList) UnmarshalJSON(raw []byte) error {
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		*t = typeList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return fmt.Errorf("type: want a name or a list of names, got %s", raw)
	}
	*t = many
	return nil
}

// additional reads "additionalProperties": false, true, or a schema.
type additional struct {
	allowed bool
	schema  *jsonSchema
}

func (a *additional) UnmarshalJSON(raw []byte) error {
	if err := json.Unmarshal(raw, &a.allowed); err == nil {
		return nil
	}
	a.allowed = true
	a.schema = &jsonSchema{}
	return strictDecode(raw, a.schema)
}

func strictDecode(raw []byte, into interface{}) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(into)
}

// loadSchema reads chartDir/values.schema.json; nil when the chart has none.
func loadSchema(chartDir string) (*jsonSchema, error) {
	raw, err := os.ReadFile(filepath.Join(chartDir, kSchemaFile))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s := &jsonSchema{}
	if err := strictDecode(raw, s); err != nil {
		return nil, fmt.Errorf("%s: %w (the offline check knows type, enum, minimum, maximum, "+
			"minLength, pattern, required, properties, additionalProperties, items, minItems, minProperties)", kSchemaFile, err)
	}
	if err := s.compile(""); err != nil {
		return nil, fmt.Errorf("%s: %w", kSchemaFile, err)
	}
	return s, nil
}

func (s *jsonSchema) compile(at string) error {
	for _, t := range s.Type {
		switch t {
		case "object", "array", "string", "number", "integer", "boolean", "null":
		default:
			return fmt.Errorf("%s: unknown type %q", orRoot(at), t)
		}
	}
	if s.Pattern != "" {
		re, err := regexp.Compile(s.Pattern)
		if err != nil {
			return fmt.Errorf("%s: pattern: %w", orRoot(at), err)
		}
		s.pattern = re
	}
	for name, p := range s.Properties {
		if err := p.compile(join(at, name)); err != nil {
			return err
		}
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.schema != nil {
		if err := s.AdditionalProperties.schema.compile(join(at, "*")); err != nil {
			return err
		}
	}
	if s.Items != nil {
		return s.Items.compile(at + "[]")
	}
	return nil
}

// validateValues checks values against the schema and returns nil or one error
// listing every problem, each naming its value path:
//
//	values don't meet the specifications of the schema (values.schema.json):
//	- podDefaults.threadPercentage: must be at most 100, got 150
func validateValues(s *jsonSchema, values map[string]interface{}) error {
	var problems []string
	s.check("", values, &problems)
	if len(problems) == 0 {
		return nil
	}
	sort.Strings(problems)
	return fmt.Errorf("values don't meet the specifications of the schema (%s):\n- %s",
		kSchemaFile, strings.Join(problems, "\n- "))
}

func (s *jsonSchema) check(at string, v interface{}, problems *[]string) {
	fail := func(format string, args ...interface{}) {
		*problems = append(*problems, orRoot(at)+": "+fmt.Sprintf(format, args...))
	}
	if len(s.Type) > 0 && !hasType(s.Type, v) {
		fail("must be %s, got %s", strings.Join(s.Type, " or "), describe(v))
		return
	}
	if len(s.Enum) > 0 && !inEnum(s.Enum, v) {
		fail("must be one of %s, got %s", enumText(s.Enum), describe(v))
	}
	switch x := v.(type) {
	case string:
		if s.MinLength != nil && len([]rune(x)) < *s.MinLength {
			fail("must be at least %s long, got %q", plural(*s.MinLength, "character"), x)
		}
		if s.pattern != nil && !s.pattern.MatchString(x) {
			fail("must match %s, got %q", s.Pattern, x)
		}
	case map[string]interface{}:
		if s.MinProperties != nil && len(x) < *s.MinProperties {
			fail("must have at least %s, got %d", plural(*s.MinProperties, "entry"), len(x))
		}
		for _, name := range s.Required {
			if _, ok := x[name]; !ok {
				*problems = append(*problems, join(at, name)+": is required")
			}
		}
		names := make([]string, 0, len(x))
		for name := range x {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			if p, ok := s.Properties[name]; ok {
				p.check(join(at, name), x[name], problems)
			} else if s.AdditionalProperties != nil && !s.AdditionalProperties.allowed {
				*problems = append(*problems, join(at, name)+": is not a value of this chart (known: "+
					strings.Join(s.propertyNames(), ", ")+")")
			} else if s.AdditionalProperties != nil && s.AdditionalProperties.schema != nil {
				s.AdditionalProperties.schema.check(join(at, name), x[name], problems)
			}
		}
	case []interface{}:
		if s.MinItems != nil && len(x) < *s.MinItems {
			fail("must have at least %s, got %d", plural(*s.MinItems, "item"), len(x))
		}
		if s.Items != nil {
			for i, item := range x {
				s.Items.check(fmt.Sprintf("%s[%d]", at, i), item, problems)
			}
		}
	default:
		if n, ok := number(v); ok {
			if s.Minimum != nil && n < *s.Minimum {
				fail("must be at least %v, got %v", *s.Minimum, n)
			}
			if s.Maximum != nil && n > *s.Maximum {
				fail("must be at most %v, got %v", *s.Maximum, n)
			}
		}
	}
}

func (s *jsonSchema) propertyNames() []string {
	var names []string
	for name := range s.Properties {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// plural writes "1 item", "2 items", "1 entry", "2 entries".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	if strings.HasSuffix(noun, "y") {
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(noun, "y"))
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func join(at, name string) string {
	if at == "" {
		return name
	}
	return at + "." + name
}

func orRoot(at string) string {
	if at == "" {
		return "(values)"
	}
	return at
}

// number reads the numeric kinds YAML decoding produces.
func number(v interface{}) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

// hasType answers like JSON Schema: "integer" is any number without a fraction,
// and "number" includes integers.
func hasType(types []string, v interface{}) bool {
	for _, t := range types {
		switch t {
		case "null":
			if v == nil {
				return true
			}
		case "boolean":
			if _, ok := v.(bool); ok {
				return true
			}
		case "string":
			if _, ok := v.(string); ok {
				return true
			}
		case "object":
			if _, ok := v.(map[string]interface{}); ok {
				return true
			}
		case "array":
			if _, ok := v.([]interface{}); ok {
				return true
			}
		case "number":
			if _, ok := number(v); ok {
				return true
			}
		case "integer":
			if n, ok := number(v); ok && n == math.Trunc(n) {
				return true
			}
		}
	}
	return false
}

func inEnum(enum []interface{}, v interface{}) bool {
	for _, e := range enum {
		if en, ok := number(e); ok {
			if vn, ok := number(v); ok && en == vn {
				return true
			}
			continue
		}
		if e == v {
			return true
		}
	}
	return false
}

func enumText(enum []interface{}) string {
	var parts []string
	for _, e := range enum {
		parts = append(parts, fmt.Sprintf("%v", e))
	}
	return strings.Join(parts, ", ")
}

// describe names a value the way a person wrote it in values.yaml or --set.
func describe(v interface{}) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("%q", x)
	case bool:
		return fmt.Sprintf("%v", x)
	case map[string]interface{}:
		return "a mapping"
	case []interface{}:
		return "a list"
	}
	if n, ok := number(v); ok {
		return fmt.Sprintf("%v", n)
	}
	return fmt.Sprintf("%v", v)
}
