package repo_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/acn-project/acn/internal/tooltest"
	"github.com/acn-project/acn/repo"
	_ "modernc.org/sqlite"
)

// dump lists every row of every table of a database, sorted, so two
// databases with the same content compare equal whatever the row order.
func dump(t *testing.T, name string) map[string][]string {
	t.Helper()
	db, err := sql.Open("sqlite", name)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := map[string][]string{}
	tables, err := db.Query(`SELECT name, sql FROM sqlite_master ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var n string
		var s sql.NullString
		tables.Scan(&n, &s)
		out["schema"] = append(out["schema"], n+": "+s.String)
		if strings.HasPrefix(s.String, "CREATE TABLE") {
			names = append(names, n)
		}
	}
	tables.Close()
	for _, n := range names {
		rows, err := db.Query(`SELECT * FROM ` + n)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			rows.Scan(ptrs...)
			var parts []string
			for i, v := range vals {
				if n == "db_info" && cols[i] == "checksum" {
					v = "(checksum of the compressed xml)"
				}
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				parts = append(parts, fmt.Sprintf("%s=%v", cols[i], v))
			}
			out[n] = append(out[n], strings.Join(parts, " "))
		}
		rows.Close()
		sort.Strings(out[n])
	}
	return out
}

func gunzipTo(t *testing.T, gz, dst string) string {
	t.Helper()
	if err := os.WriteFile(dst, gunzip(t, gz), 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestSQLiteMatchesCreaterepo compares every row of acn's *_db databases
// with createrepo_c's, and checks that db_info names the XML checksum.
func TestSQLiteMatchesCreaterepo(t *testing.T) {
	dir := repoDir(t)
	index(t, dir, repo.Options{SQLite: true})
	crc := t.TempDir()
	tooltest.Run(t, "createrepo_c", "--quiet", "--general-compress-type=gz", "-o", crc, dir)
	ours, theirs := readMD(t, dir), readMD(t, crc)
	tmp := t.TempDir()
	for _, kind := range []string{"primary_db", "filelists_db", "other_db"} {
		o, c := ours.Find(kind), theirs.Find(kind)
		if o == nil || c == nil {
			t.Fatalf("%s: acn %v, createrepo_c %v", kind, o, c)
		}
		if o.DatabaseVersion != 10 || !strings.HasSuffix(o.Location.Href, "-"+strings.TrimSuffix(kind, "_db")+".sqlite.gz") {
			t.Errorf("%s record: %+v", kind, o)
		}
		a := dump(t, gunzipTo(t, filepath.Join(dir, o.Location.Href), filepath.Join(tmp, "a-"+kind)))
		b := dump(t, gunzipTo(t, filepath.Join(crc, c.Location.Href), filepath.Join(tmp, "b-"+kind)))
		for table, rows := range b {
			if strings.Join(a[table], "\n") != strings.Join(rows, "\n") {
				t.Errorf("%s table %s differs\nacn:\n%s\ncreaterepo_c:\n%s", kind, table, strings.Join(a[table], "\n"), strings.Join(rows, "\n"))
			}
		}
		db, _ := sql.Open("sqlite", filepath.Join(tmp, "a-"+kind))
		var v int
		var sum string
		db.QueryRowContext(context.Background(), `SELECT dbversion, checksum FROM db_info`).Scan(&v, &sum)
		db.Close()
		xml := ours.Find(strings.TrimSuffix(kind, "_db"))
		if v != 10 || sum != xml.Checksum.Value {
			t.Errorf("%s db_info = %d %s, want 10 %s", kind, v, sum, xml.Checksum.Value)
		}
	}
	if _, err := repo.Verify(context.Background(), dir, nil); err != nil {
		t.Error(err)
	}
}
