// Package rpmtag names the numbers of the rpm file format that acn both
// writes (package builder) and reads (package repo): header and signature
// tags, dependency flags and file flags, as rpm's rpmtag.h, rpmds.h and
// rpmfiles.h define them. One list, so the writer and the reader cannot
// disagree.
package rpmtag

// Header tags (rpmtag.h).
const (
	Name              = 1000
	Version           = 1001
	Release           = 1002
	Epoch             = 1003
	Summary           = 1004
	Description       = 1005
	BuildTime         = 1006
	BuildHost         = 1007
	Size              = 1009
	Vendor            = 1011
	License           = 1014
	Packager          = 1015
	Group             = 1016
	URL               = 1020
	Arch              = 1022
	OldFilenames      = 1027
	FileSizes         = 1028
	FileModes         = 1030
	FileRDevs         = 1033
	FileDigests       = 1035
	FileFlags         = 1037
	SourceRPM         = 1044
	ProvideName       = 1047
	RequireFlags      = 1048
	RequireName       = 1049
	RequireVersion    = 1050
	ConflictFlags     = 1053
	ConflictName      = 1054
	ConflictVersion   = 1055
	RPMVersion        = 1064
	ChangelogTime     = 1080
	ChangelogName     = 1081
	ChangelogText     = 1082
	PreInProg         = 1085
	PostInProg        = 1086
	PreUnProg         = 1087
	PostUnProg        = 1088
	ObsoleteName      = 1090
	FileINodes        = 1096
	SourcePackage     = 1106
	ProvideFlags      = 1112
	ProvideVersion    = 1113
	ObsoleteFlags     = 1114
	ObsoleteVersion   = 1115
	DirIndexes        = 1116
	Basenames         = 1117
	Dirnames          = 1118
	PayloadCompressor = 1125
	PayloadFlags      = 1126
	PreTransProg      = 1153
	PostTransProg     = 1154
	OldSuggestName    = 1156 // version and flags follow
	OldEnhanceName    = 1159 // version and flags follow
	LongSize          = 5009
	RecommendName     = 5046 // version and flags follow
	SuggestName       = 5049 // version and flags follow
	SupplementName    = 5052 // version and flags follow
	EnhanceName       = 5055 // version and flags follow
	Encoding          = 5062
	PayloadDigest     = 5092
	PayloadDigestAlgo = 5093
)

// Signature header tags.
const (
	SigSHA1            = 269
	SigLongArchiveSize = 271
	SigLongSize        = 270
	SigSHA256          = 273
	SigSize            = 1000
	SigMD5             = 1004
	SigPayloadSize     = 1007
)

// Dependency flags (rpmds.h).
const (
	SenseLess         = 1 << 1
	SenseGreater      = 1 << 2
	SenseEqual        = 1 << 3
	SensePosttrans    = 1 << 5
	SensePrereq       = 1 << 6
	SensePretrans     = 1 << 7
	SenseInterp       = 1 << 8
	SenseScriptPre    = 1 << 9
	SenseScriptPost   = 1 << 10
	SenseScriptPreun  = 1 << 11
	SenseScriptPostun = 1 << 12
	SenseMissingOK    = 1 << 19
	SenseRPMLib       = 1 << 24
	SenseStrong       = 1 << 27
)

// File flags (rpmfiles.h).
const (
	FileConfig    = 1 << 0
	FileDoc       = 1 << 1
	FileNoReplace = 1 << 4
	FileGhost     = 1 << 6
	FileLicense   = 1 << 7
)

// Provenance tags. VCS is rpm's own (RPMTAG_VCS, what rpmbuild writes for
// %{vcs}); the other two are acn's, in a range rpm does not use: rpm,
// rpmlint and createrepo_c carry unknown tags through untouched.
const (
	VCS          = 5034
	AcnRef       = 21040 // the git ref the package was built from
	AcnLogSHA256 = 21041 // hex SHA-256 of the build log, when there was one
)

// Per-file dependency and color tags (rpmbuild's rpmfc); HEADERCOLOR is
// not stored, rpm computes it from FILECOLORS.
const (
	FileColors   = 1140
	FileClass    = 1141
	ClassDict    = 1142
	FileDependsX = 1143
	FileDependsN = 1144
	DependsDict  = 1145
)
