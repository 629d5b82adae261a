"""packaging/icu_slim.py: which ICU data items the bundle's slim libicudata leaves out."""
import importlib.util
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parents[2] / "packaging" / "icu_slim.py"


@pytest.fixture(scope="module")
def icu_slim():
    spec = importlib.util.spec_from_file_location("icu_slim", PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("item, size", [
    # what Qt's collation, calendars, case mapping and common converters read
    ("root.res", 0), ("en.res", 0), ("en_US_POSIX.res", 0), ("res_index.res", 0), ("pool.res", 0),
    ("supplementalData.res", 0), ("likelySubtags.res", 0), ("zoneinfo64.res", 0), ("metaZones.res", 0),
    ("plurals.res", 0), ("cnvalias.icu", 0), ("uts46.nrm", 0), ("nfkc.nrm", 0),
    ("coll/root.res", 0), ("coll/ucadata.icu", 0), ("coll/sv.res", 0), ("coll/zh.res", 0),   # every collation
    ("zone/root.res", 0), ("zone/en.res", 0), ("zone/tzdbNames.res", 0), ("zone/res_index.res", 0),
    ("iso-8859_10-1998.cnv", 2736), ("ibm-5348_P100-1997.cnv", 3200),       # single-byte code pages
    ("gb18030.cnv", 232816), ("ibm-943_P15A-2003.cnv", 90992), ("ibm-970_P110_P110-2006_U2.cnv", 102832),
])
def test_kept(icu_slim, item, size):
    assert not icu_slim.dropped(item, size)


@pytest.mark.parametrize("item, size", [
    ("de.res", 0), ("zh_Hant_TW.res", 0), ("yue.res", 0), ("zone/de.res", 0), ("lang/en.res", 0),
    ("curr/root.res", 0), ("unit/fr.res", 0), ("region/en.res", 0), ("rbnf/en.res", 0),
    ("translit/root.res", 0), ("brkitr/cjdict.dict", 0), ("brkitr/root.res", 0),
    ("ibm-1390_P110-2003.cnv", 167104), ("euc-tw-2014.cnv", 545632),
])
def test_dropped(icu_slim, item, size):
    assert icu_slim.dropped(item, size)
