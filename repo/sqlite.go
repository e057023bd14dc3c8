package repo

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite", pure Go
)

// The *_db files are the same metadata as sqlite databases, in the schema
// yum (EL7) and createrepo_c use (database version 10), so yum can load a
// repository without parsing XML. They are built from the XML fragments
// already written, so they always agree with the XML.

const dbVersion = 10

var primarySchema = []string{
	`CREATE TABLE db_info (dbversion INTEGER, checksum TEXT)`,
	`CREATE TABLE packages (  pkgKey INTEGER PRIMARY KEY,  pkgId TEXT,  name TEXT,  arch TEXT,  version TEXT,  epoch TEXT,  release TEXT,  summary TEXT,  description TEXT,  url TEXT,  time_file INTEGER,  time_build INTEGER,  rpm_license TEXT,  rpm_vendor TEXT,  rpm_group TEXT,  rpm_buildhost TEXT,  rpm_sourcerpm TEXT,  rpm_header_start INTEGER,  rpm_header_end INTEGER,  rpm_packager TEXT,  size_package INTEGER,  size_installed INTEGER,  size_archive INTEGER,  location_href TEXT,  location_base TEXT,  checksum_type TEXT)`,
	`CREATE TABLE files (  name TEXT,  type TEXT,  pkgKey INTEGER)`,
	`CREATE TABLE requires (  name TEXT,  flags TEXT,  epoch TEXT,  version TEXT,  release TEXT,  pkgKey INTEGER , pre BOOLEAN DEFAULT FALSE)`,
	`CREATE TABLE provides (  name TEXT,  flags TEXT,  epoch TEXT,  version TEXT,  release TEXT,  pkgKey INTEGER )`,
	`CREATE TABLE conflicts (  name TEXT,  flags TEXT,  epoch TEXT,  version TEXT,  release TEXT,  pkgKey INTEGER )`,
	`CREATE TABLE obsoletes (  name TEXT,  flags TEXT,  epoch TEXT,  version TEXT,  release TEXT,  pkgKey INTEGER )`,
	`CREATE TABLE suggests (  name TEXT,  flags TEXT,  epoch TEXT,  version TEXT,  release TEXT,  pkgKey INTEGER )`,
	`CREATE TABLE enhances (  name TEXT,  flags TEXT,  epoch TEXT,  version TEXT,  release TEXT,  pkgKey INTEGER )`,
	`CREATE TABLE recommends (  name TEXT,  flags TEXT,  epoch TEXT,  version TEXT,  release TEXT,  pkgKey INTEGER )`,
	`CREATE TABLE supplements (  name TEXT,  flags TEXT,  epoch TEXT,  version TEXT,  release TEXT,  pkgKey INTEGER )`,
	`CREATE TRIGGER removals AFTER DELETE ON packages  BEGIN    DELETE FROM files WHERE pkgKey = old.pkgKey;    DELETE FROM requires WHERE pkgKey = old.pkgKey;    DELETE FROM provides WHERE pkgKey = old.pkgKey;    DELETE FROM conflicts WHERE pkgKey = old.pkgKey;    DELETE FROM obsoletes WHERE pkgKey = old.pkgKey;    DELETE FROM suggests WHERE pkgKey = old.pkgKey;    DELETE FROM enhances WHERE pkgKey = old.pkgKey;    DELETE FROM recommends WHERE pkgKey = old.pkgKey;    DELETE FROM supplements WHERE pkgKey = old.pkgKey;  END`,
}

var primaryIndexes = []string{
	`CREATE INDEX packagename ON packages (name)`,
	`CREATE INDEX packageId ON packages (pkgId)`,
	`CREATE INDEX filenames ON files (name)`,
	`CREATE INDEX pkgfiles ON files (pkgKey)`,
	`CREATE INDEX pkgrequires on requires (pkgKey)`,
	`CREATE INDEX requiresname ON requires (name)`,
	`CREATE INDEX pkgprovides on provides (pkgKey)`,
	`CREATE INDEX providesname ON provides (name)`,
	`CREATE INDEX pkgconflicts on conflicts (pkgKey)`,
	`CREATE INDEX pkgobsoletes on obsoletes (pkgKey)`,
	`CREATE INDEX pkgsuggests on suggests (pkgKey)`,
	`CREATE INDEX pkgenhances on enhances (pkgKey)`,
	`CREATE INDEX pkgrecommends on recommends (pkgKey)`,
	`CREATE INDEX pkgsupplements on supplements (pkgKey)`,
}

var filelistsSchema = []string{
	`CREATE TABLE db_info (dbversion INTEGER, checksum TEXT)`,
	`CREATE TABLE packages (  pkgKey INTEGER PRIMARY KEY,  pkgId TEXT)`,
	`CREATE TABLE filelist (  pkgKey INTEGER,  dirname TEXT,  filenames TEXT,  filetypes TEXT)`,
	`CREATE TRIGGER remove_filelist AFTER DELETE ON packages  BEGIN    DELETE FROM filelist WHERE pkgKey = old.pkgKey;  END`,
}

var filelistsIndexes = []string{
	`CREATE INDEX keyfile ON filelist (pkgKey)`,
	`CREATE INDEX pkgId ON packages (pkgId)`,
	`CREATE INDEX dirnames ON filelist (dirname)`,
}

var otherSchema = []string{
	`CREATE TABLE db_info (dbversion INTEGER, checksum TEXT)`,
	`CREATE TABLE packages (  pkgKey INTEGER PRIMARY KEY,  pkgId TEXT)`,
	`CREATE TABLE changelog (  pkgKey INTEGER,  author TEXT,  date INTEGER,  changelog TEXT)`,
	`CREATE TRIGGER remove_changelogs AFTER DELETE ON packages  BEGIN    DELETE FROM changelog WHERE pkgKey = old.pkgKey;  END`,
}

var otherIndexes = []string{
	`CREATE INDEX keychange ON changelog (pkgKey)`,
	`CREATE INDEX pkgId ON packages (pkgId)`,
}

// Fragment shapes, as renderPrimary/renderFilelists/renderOther write them.
type xEntry struct {
	Name  string `xml:"name,attr"`
	Flags string `xml:"flags,attr"`
	Epoch string `xml:"epoch,attr"`
	Ver   string `xml:"ver,attr"`
	Rel   string `xml:"rel,attr"`
	Pre   string `xml:"pre,attr"`
}

type xFile struct {
	Type string `xml:"type,attr"`
	Path string `xml:",chardata"`
}

type xVersion struct {
	Epoch string `xml:"epoch,attr"`
	Ver   string `xml:"ver,attr"`
	Rel   string `xml:"rel,attr"`
}

type xPrimary struct {
	Name     string   `xml:"name"`
	Arch     string   `xml:"arch"`
	Version  xVersion `xml:"version"`
	Checksum struct {
		Type  string `xml:"type,attr"`
		Value string `xml:",chardata"`
	} `xml:"checksum"`
	Summary     string `xml:"summary"`
	Description string `xml:"description"`
	Packager    string `xml:"packager"`
	URL         string `xml:"url"`
	Time        struct {
		File  int64 `xml:"file,attr"`
		Build int64 `xml:"build,attr"`
	} `xml:"time"`
	Size struct {
		Package   int64 `xml:"package,attr"`
		Installed int64 `xml:"installed,attr"`
		Archive   int64 `xml:"archive,attr"`
	} `xml:"size"`
	Location struct {
		Href string `xml:"href,attr"`
	} `xml:"location"`
	Format struct {
		License     string `xml:"license"`
		Vendor      string `xml:"vendor"`
		Group       string `xml:"group"`
		BuildHost   string `xml:"buildhost"`
		SourceRPM   string `xml:"sourcerpm"`
		HeaderRange struct {
			Start int64 `xml:"start,attr"`
			End   int64 `xml:"end,attr"`
		} `xml:"header-range"`
		Provides    []xEntry `xml:"provides>entry"`
		Requires    []xEntry `xml:"requires>entry"`
		Conflicts   []xEntry `xml:"conflicts>entry"`
		Obsoletes   []xEntry `xml:"obsoletes>entry"`
		Suggests    []xEntry `xml:"suggests>entry"`
		Enhances    []xEntry `xml:"enhances>entry"`
		Recommends  []xEntry `xml:"recommends>entry"`
		Supplements []xEntry `xml:"supplements>entry"`
		Files       []xFile  `xml:"file"`
	} `xml:"format"`
}

type xFilelists struct {
	PkgID string  `xml:"pkgid,attr"`
	Files []xFile `xml:"file"`
}

type xOther struct {
	PkgID      string `xml:"pkgid,attr"`
	Changelogs []struct {
		Author string `xml:"author,attr"`
		Date   int64  `xml:"date,attr"`
		Text   string `xml:",chardata"`
	} `xml:"changelog"`
}

// eachElement decodes every element called name, wherever it is.
func eachElement[T any](r io.Reader, name string, fn func(*T) error) error {
	dec := xml.NewDecoder(bufio.NewReaderSize(r, 64<<10))
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == name {
			var v T
			if err := dec.DecodeElement(&v, &se); err != nil {
				return err
			}
			if err := fn(&v); err != nil {
				return err
			}
		}
	}
}

// eachPackage decodes every <package> element of a fragment stream.
func eachPackage[T any](r io.Reader, fn func(*T) error) error {
	return eachElement(r, "package", fn)
}

func null(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// buildDB creates a database file: schema, then fill's rows in one
// transaction, then the indexes and the db_info row naming the XML it
// was made from. On any error the transaction is rolled back.
func buildDB(ctx context.Context, name string, schema, indexes []string, xmlChecksum string, fill func(*sql.Tx) error) (err error) {
	os.Remove(name)
	db, err := sql.Open("sqlite", name)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := db.Close(); err == nil {
			err = cerr
		}
	}()
	db.SetMaxOpenConns(1)
	for _, p := range []string{"PRAGMA synchronous = OFF", "PRAGMA journal_mode = MEMORY", "PRAGMA temp_store = MEMORY"} {
		if _, err := db.ExecContext(ctx, p); err != nil {
			return err
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	for _, s := range schema {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	if err := fill(tx); err != nil {
		return err
	}
	for _, s := range indexes {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO db_info (dbversion, checksum) VALUES (?, ?)`, dbVersion, xmlChecksum); err != nil {
		return err
	}
	return tx.Commit()
}

// prepare makes one statement per query, failing on the first error.
func prepare(ctx context.Context, tx *sql.Tx, queries ...string) ([]*sql.Stmt, error) {
	out := make([]*sql.Stmt, len(queries))
	for i, q := range queries {
		st, err := tx.PrepareContext(ctx, q)
		if err != nil {
			return nil, err
		}
		out[i] = st
	}
	return out, nil
}

// writeDBs builds the three databases into files in dir and returns their
// paths in primary, filelists, other order.
func writeDBs(ctx context.Context, dir string, cache *newCache, md *Repomd, o *Options) ([3]string, error) {
	var names [3]string
	st := &dbState{root: filepath.Dir(dir)}
	builders := []func(context.Context, string, io.Reader, string, *Options, *dbState) error{buildPrimaryDB, buildFilelistsDB, buildOtherDB}
	for i, kind := range []string{"primary", "filelists", "other"} {
		f, err := os.CreateTemp(dir, "."+kind+"_db.tmp-*")
		if err != nil {
			return names, err
		}
		f.Close()
		names[i] = f.Name()
		if err := builders[i](ctx, f.Name(), cache.body(i), md.Find(kind).Checksum.Value, o, st); err != nil {
			for _, n := range names {
				if n != "" {
					os.Remove(n)
				}
			}
			return names, fmt.Errorf("%s database: %w", kind, err)
		}
	}
	return names, nil
}

// dbState is what the primary database's build hands the next ones:
// where each package is, in package order, so that the filelists
// database can read a package's own file names when the XML no longer
// has them.
type dbState struct {
	root string   // the repository directory
	locs []string // each package's location
}

// sameFiles reports whether raw, a package's files as its header has
// them, are those of the XML: the file read is the one indexed.
func sameFiles(raw []File, xml []xFile) bool {
	if len(raw) != len(xml) {
		return false
	}
	for i, f := range raw {
		if utf8OrLatin1(f.Path) != xml[i].Path || f.Type != xml[i].Type {
			return false
		}
	}
	return true
}

// file is the path of the package at rel (a location as the XML has it,
// converted from Latin-1 if the file's name is not UTF-8): the file of
// that name, else the one in its directory whose name converts to it.
func (st *dbState) file(rel string) string {
	name := filepath.Join(st.root, rel)
	if _, err := os.Lstat(name); err == nil || isASCII(rel) {
		return name
	}
	dir := filepath.Dir(name)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return name
	}
	for _, e := range entries {
		if utf8OrLatin1(e.Name()) == filepath.Base(name) {
			return filepath.Join(dir, e.Name())
		}
	}
	return name
}

var depTables = []string{"requires", "provides", "conflicts", "obsoletes", "suggests", "enhances", "recommends", "supplements"}

func buildPrimaryDB(ctx context.Context, name string, body io.Reader, sum string, o *Options, dst *dbState) error {
	return buildDB(ctx, name, primarySchema, primaryIndexes, sum, func(tx *sql.Tx) error {
		queries := []string{
			`INSERT INTO packages (pkgId, name, arch, version, epoch, release, summary, description, url, time_file, time_build, rpm_license, rpm_vendor, rpm_group, rpm_buildhost, rpm_sourcerpm, rpm_header_start, rpm_header_end, rpm_packager, size_package, size_installed, size_archive, location_href, location_base, checksum_type) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
			`INSERT INTO files (name, type, pkgKey) VALUES (?,?,?)`,
			`INSERT INTO requires (name, flags, epoch, version, release, pkgKey, pre) VALUES (?,?,?,?,?,?,?)`,
		}
		for _, t := range depTables[1:] {
			queries = append(queries, `INSERT INTO `+t+` (name, flags, epoch, version, release, pkgKey) VALUES (?,?,?,?,?,?)`)
		}
		st, err := prepare(ctx, tx, queries...)
		if err != nil {
			return err
		}
		pkgStmt, fileStmt, depStmts := st[0], st[1], st[2:] // depStmts in depTables order
		key := int64(0)
		return eachPackage(body, func(p *xPrimary) error {
			key++
			dst.locs = append(dst.locs, p.Location.Href)
			f := &p.Format
			if _, err := pkgStmt.ExecContext(ctx, p.Checksum.Value, p.Name, p.Arch, p.Version.Ver, p.Version.Epoch, p.Version.Rel,
				p.Summary, null(p.Description), null(p.URL), int32(p.Time.File), int32(p.Time.Build), f.License, f.Vendor, f.Group,
				f.BuildHost, f.SourceRPM, int32(f.HeaderRange.Start), int32(f.HeaderRange.End), null(p.Packager),
				p.Size.Package, p.Size.Installed, p.Size.Archive, p.Location.Href, null(o.BaseURL), p.Checksum.Type); err != nil {
				return err
			}
			for _, fl := range f.Files {
				t := fl.Type
				if t == "" {
					t = "file"
				}
				if _, err := fileStmt.ExecContext(ctx, fl.Path, t, key); err != nil {
					return err
				}
			}
			lists := [][]xEntry{f.Requires, f.Provides, f.Conflicts, f.Obsoletes, f.Suggests, f.Enhances, f.Recommends, f.Supplements}
			for i, list := range lists {
				for _, e := range list {
					args := []any{e.Name, null(e.Flags), null(e.Epoch), null(e.Ver), null(e.Rel), key}
					if i == 0 { // requires
						pre := "FALSE"
						if e.Pre == "1" {
							pre = "TRUE"
						}
						args = append(args, pre)
					}
					if _, err := depStmts[i].ExecContext(ctx, args...); err != nil {
						return err
					}
				}
			}
			return nil
		})
	})
}

func buildFilelistsDB(ctx context.Context, name string, body io.Reader, sum string, _ *Options, dst *dbState) error {
	return buildDB(ctx, name, filelistsSchema, filelistsIndexes, sum, func(tx *sql.Tx) error {
		st, err := prepare(ctx, tx, `INSERT INTO packages (pkgId) VALUES (?)`,
			`INSERT INTO filelist (pkgKey, dirname, filenames, filetypes) VALUES (?,?,?,?)`)
		if err != nil {
			return err
		}
		key := int64(0)
		return eachPackage(body, func(p *xFilelists) error {
			key++
			if _, err := st[0].ExecContext(ctx, p.PkgID); err != nil {
				return err
			}
			for _, r := range filelistRows(p, dst, key) {
				if _, err := st[1].ExecContext(ctx, key, r.dir, r.names, r.types); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

type filelistRow struct{ dir, names, types string }

// filelistRows makes a package's filelist rows: one per directory of the
// header (createrepo_c groups by the directory as stored, trailing
// slashes and all), its files' base names joined by '/' and one type
// letter (f, d, g) per file.
//
// createrepo_c converts each column from Latin-1 as a whole (the joined
// names, not each name), and cuts a converted directory to the length it
// had before conversion; the XML has only each path converted. So for a
// package whose paths may have been converted, the rows are made from the
// package's own header (read again, headers only), when its files are
// still those of the XML.
func filelistRows(p *xFilelists, st *dbState, key int64) []filelistRow {
	type file struct{ dir, base, typ string }
	files := make([]file, len(p.Files))
	converted := false
	for i, f := range p.Files {
		d, b := splitDir(f.Path)
		files[i] = file{d, b, f.Type}
		converted = converted || mayBeLatin1(f.Path)
	}
	if converted && key >= 1 && int(key) <= len(st.locs) {
		rel := filepath.FromSlash(st.locs[key-1])
		if filepath.IsLocal(rel) {
			if raw, err := readRawFiles(st.file(rel)); err == nil && sameFiles(raw, p.Files) {
				for i, f := range raw {
					files[i] = file{f.Path[:f.dirLen], f.Path[f.dirLen:], f.Type}
					if files[i].base == "" {
						files[i].base = "/"
					}
				}
			}
		}
	}
	type dir struct{ names, types []string }
	var order []string
	dirs := map[string]*dir{}
	for _, f := range files {
		if dirs[f.dir] == nil {
			dirs[f.dir] = &dir{}
			order = append(order, f.dir)
		}
		t := "f"
		switch f.typ {
		case "dir":
			t = "d"
		case "ghost":
			t = "g"
		}
		dirs[f.dir].names = append(dirs[f.dir].names, f.base)
		dirs[f.dir].types = append(dirs[f.dir].types, t)
	}
	out := make([]filelistRow, len(order))
	for i, d := range order {
		out[i] = filelistRow{dirRow(d), utf8OrLatin1(strings.Join(dirs[d].names, "/")), strings.Join(dirs[d].types, "")}
	}
	return out
}

// mayBeLatin1 reports whether s may have been converted from Latin-1:
// the conversion makes no character outside U+00C0-U+00FF but ASCII.
func mayBeLatin1(s string) bool {
	for _, r := range s {
		if r >= 0xC0 && r <= 0xFF {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// splitDir splits a path after its last '/', as rpm stores it (directory
// and base name); the base name of the root directory itself, empty,
// is "/" in a filelist row.
func splitDir(p string) (dir, base string) {
	i := strings.LastIndexByte(p, '/') + 1
	dir, base = p[:i], p[i:]
	if base == "" {
		base = "/"
	}
	return dir, base
}

// dirRow is a directory as createrepo_c writes it in a filelist row:
// without its trailing slashes, but "/" for the root, and "." for none;
// converted from Latin-1 whole, then cut to its length before conversion
// (createrepo_c binds the converted text with the original length).
func dirRow(dir string) string {
	n := len(dir)
	for n > 1 && dir[n-1] == '/' {
		n--
	}
	if n == 0 {
		return "."
	}
	conv := utf8OrLatin1(dir)
	return conv[:min(n, len(conv))]
}

func buildOtherDB(ctx context.Context, name string, body io.Reader, sum string, _ *Options, _ *dbState) error {
	return buildDB(ctx, name, otherSchema, otherIndexes, sum, func(tx *sql.Tx) error {
		st, err := prepare(ctx, tx, `INSERT INTO packages (pkgId) VALUES (?)`,
			`INSERT INTO changelog (pkgKey, author, date, changelog) VALUES (?,?,?,?)`)
		if err != nil {
			return err
		}
		key := int64(0)
		return eachPackage(body, func(p *xOther) error {
			key++
			if _, err := st[0].ExecContext(ctx, p.PkgID); err != nil {
				return err
			}
			for _, c := range p.Changelogs {
				if _, err := st[1].ExecContext(ctx, key, c.Author, int32(c.Date), c.Text); err != nil {
					return err
				}
			}
			return nil
		})
	})
}
