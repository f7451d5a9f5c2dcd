"""House style: sizes, palette, deterministic files with embedded TrueType fonts."""

import matplotlib as mpl
import matplotlib.pyplot as plt
import pytest

from dynrec import plots


def _figure():
    with plots.style():
        fig, ax = plt.subplots(figsize=plots.figsize(1))
        ax.plot([0, 1, 2], [0, 1, 4], label="x²")
        ax.set_xlabel("step")
        ax.legend()
    return fig


def test_style_file_is_shipped_and_read():
    assert plots.STYLE_FILE.is_file()
    with plots.style():
        assert mpl.rcParams["pdf.fonttype"] == 42
        assert mpl.rcParams["savefig.dpi"] == 300
        assert not mpl.rcParams["text.usetex"]
        cycle = [mpl.colors.to_hex(c) for c in mpl.rcParams["axes.prop_cycle"].by_key()["color"]]
    assert cycle == [c.lower() for c in plots.OKABE_ITO]


def test_figsize_columns():
    assert plots.figsize(1) == (3.5, 3.5 * 0.75)
    assert plots.figsize(2, aspect=0.5) == (7.2, 3.6)
    assert plots.figsize(1.5)[0] == pytest.approx((3.5 + 7.2) / 2)
    with pytest.raises(ValueError, match="columns"):
        plots.figsize(3)


@pytest.mark.parametrize("fmt", ["pdf", "png", "svg"])
def test_savefig_is_deterministic_across_figures(tmp_path, fmt):
    a = plots.savefig(_figure(), tmp_path / f"a.{fmt}")[0].read_bytes()
    b = plots.savefig(_figure(), tmp_path / f"b.{fmt}")[0].read_bytes()
    assert len(a) > 1000 and a == b


def test_pdf_embeds_truetype_and_no_date(tmp_path):
    data = plots.savefig(_figure(), tmp_path / "f.pdf")[0].read_bytes()
    assert b"/FontFile2" in data          # TrueType (Type 42) font program embedded
    assert b"/FontFile3" not in data and b"/Type3" not in data
    assert b"CreationDate" not in data


def test_png_is_300_dpi(tmp_path):
    from PIL import Image

    fig = _figure()
    path = plots.savefig(fig, tmp_path / "f.png")[0]
    with Image.open(path) as im:
        assert im.info["dpi"][0] == pytest.approx(300, abs=0.1)
        assert "Software" not in im.info


def test_savefig_formats_and_errors(tmp_path):
    paths = plots.savefig(_figure(), tmp_path / "sub" / "fig", formats=("pdf", "png"))
    assert [p.name for p in paths] == ["fig.pdf", "fig.png"] and all(p.stat().st_size > 0 for p in paths)
    with pytest.raises(ValueError, match="suffix"):
        plots.savefig(_figure(), tmp_path / "fig.jpg")
    with pytest.raises(ValueError, match="unknown format 'eps'"):
        plots.savefig(_figure(), tmp_path / "fig", formats=("eps",))
