"""A smaller ICU data library for the bundle (used by layerlab.spec).

PySide6 ships ICU's whole data set (libicudata.so.NN, 30.5 MB: every locale's names, units,
currencies, break-iterator dictionaries, transliterators, 230 legacy converters). Qt Core, the only
library in the bundle that links ICU, calls just collation (ucol_*: QCollator, the file dialogs'
sorting), calendars / time-zone names (ucal_*: QTimeZone), case mapping (u_strToUpper/Lower) and
converters (ucnv_*: QStringConverter for encodings other than UTF-* and Latin-1, which the app never
names itself). `slim(src, out)` rebuilds the library with the same SONAME and data symbol (icudtNN_dat)
minus the items none of those read: the converter tables of the rarer multi-byte encodings (IBM
EBCDIC and the like: 4 of 5 MB; every single-byte table and the common CJK ones stay), the trees for locale display names,
currencies, units, number spell-out, transliteration and break iteration, and the per-locale
calendar / time-zone-name data of locales other than English (they fall back to root, as a locale
ICU has no data for does). Collation keeps every locale. Needs ICU's tools: icupkg and genccode
(Debian: icu-devtools); the .dat container format is the same across ICU versions.
"""
from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

# trees Qt's ICU calls never open (names of languages / regions / currencies / units, spell-out
# rules, transliterators, break iterators and their dictionaries)
DROPPED_TREES = ("brkitr", "curr", "lang", "rbnf", "region", "translit", "unit")
# trees whose per-locale data is kept for English only (others fall back to root)
ENGLISH_ONLY_TREES = ("", "zone")
ENGLISH = {"en", "en_001", "en_US", "en_US_POSIX"}
LOCALE_RES = re.compile(r"^[a-z]{2,3}(_[A-Za-z0-9]+)*\.res$")
KEPT_RES = {"res_index.res", "pool.res", "root.res", "tzdbNames.res"}
# converter tables kept whatever their size: GB18030, GBK, EUC-JP, Shift_JIS, EUC-KR, Big5, Big5-HKSCS
KEPT_CNV = re.compile(r"^(gb18030|ibm-1386_|ibm-33722_|ibm-943_P15A|ibm-970_|windows-950|ibm-5471_)")
SMALL_CNV = 16384      # single-byte code pages (ISO-8859-*, windows-125*, KOI8, Mac...): 154 tables, 0.5 MB


def dropped(item: str, size: int = 0) -> bool:
    """True for an item (as `icupkg -l` names it, e.g. 'de.res', 'coll/de.res', 'ibm-943.cnv';
    `size`: its bytes, read for converter tables) the slim library leaves out."""
    tree, _, name = item.rpartition("/")
    if tree in DROPPED_TREES:
        return True
    if not tree and name.endswith(".cnv"):
        return size >= SMALL_CNV and not KEPT_CNV.match(name)
    if tree in ENGLISH_ONLY_TREES and LOCALE_RES.match(name) and name not in KEPT_RES:
        return name[:-len(".res")] not in ENGLISH
    return False


def data_symbol(lib: Path) -> tuple[str, int, int]:
    """(name, file offset, size) of the icudtNN_dat symbol in an ICU data library."""
    syms = subprocess.run(["readelf", "-Ws", "--dyn-syms", str(lib)], capture_output=True, text=True,
                          check=True).stdout
    m = re.search(r"^\s*\d+:\s+([0-9a-f]+)\s+(0x[0-9a-f]+|\d+)\s+OBJECT\s+GLOBAL\s+\w+\s+(\d+)\s+(icudt\d+_dat)\s*$",
                  syms, re.M)
    if not m:
        raise ValueError(f"no icudtNN_dat symbol in {lib}")
    addr, size, shndx, name = int(m[1], 16), int(m[2], 0), int(m[3]), m[4]
    sections = subprocess.run(["readelf", "-SW", str(lib)], capture_output=True, text=True, check=True).stdout
    for line in sections.splitlines():
        s = re.match(r"^\s*\[\s*(\d+)\]\s+\S+\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s", line)
        if s and int(s[1]) == shndx:
            return name, addr - int(s[2], 16) + int(s[3], 16), size
    raise ValueError(f"section {shndx} of {lib} not found")


def slim(src: Path, out: Path) -> tuple[int, int]:
    """Write the slim copy of the ICU data library `src` to `out`; returns (items kept, items dropped)."""
    name, offset, size = data_symbol(src)
    soname = re.search(r"SONAME\)\s+Library soname: \[(.+?)\]",
                       subprocess.run(["readelf", "-d", str(src)], capture_output=True, text=True, check=True).stdout)[1]
    entry = name[:-len("_dat")]                                 # icudt73
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        full = tmp / "full" / f"{entry}l.dat"       # icupkg wants the file named as its items' prefix
        full.parent.mkdir()
        with open(src, "rb") as f:
            f.seek(offset)
            full.write_bytes(f.read(size))
        items = subprocess.run(["icupkg", "-l", str(full)], capture_output=True, text=True, check=True).stdout.split()
        cnv = [i for i in items if i.endswith(".cnv")]
        (tmp / "cnv.txt").write_text("\n".join(cnv) + "\n")
        (tmp / "cnv").mkdir()
        subprocess.run(["icupkg", "-x", str(tmp / "cnv.txt"), "-d", str(tmp / "cnv"), str(full)], capture_output=True,
                       check=True)
        drop = [i for i in items if dropped(i, (tmp / "cnv" / i).stat().st_size if i in cnv else 0)]
        dat = tmp / f"{entry}l.dat"
        for _ in range(5):      # a kept converter table may extend a dropped one: keep that too
            (tmp / "drop.txt").write_text("\n".join(drop) + "\n")
            r = subprocess.run(["icupkg", "-r", str(tmp / "drop.txt"), str(full), str(dat)], capture_output=True,
                               text=True)
            needed = set(re.findall(r"depends on missing item (\S+)", r.stderr))
            if not r.returncode or not needed:
                break
            drop = [i for i in drop if i not in needed]
        if r.returncode:
            raise RuntimeError(f"icupkg -r: {r.stderr}")
        subprocess.run(["genccode", "-a", "gcc", "-e", entry, "-d", str(tmp), str(dat)], capture_output=True,
                       check=True)
        asm = next(tmp.glob("*.S"), None) or next(tmp.glob("*.s"))
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["gcc", "-shared", "-nostdlib", f"-Wl,-soname,{soname}", "-Wl,-z,noexecstack",
                        "-o", str(out), str(asm)], capture_output=True, check=True)
    name2, _, size2 = data_symbol(out)
    assert name2 == name and 0 < size2 < size, (name2, size2)
    return len(items) - len(drop), len(drop)
