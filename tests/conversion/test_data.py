"""The data converter: every advertised pair on samples written by each format's own library, and hostile input."""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from anclora.errors import AncloraError, ConversionFailed, UnsupportedMediaType
from anclora.sniff import sniff
from media_samples import NAMES, bundled_converters, data_sample, names_in

CONVERTER = bundled_converters()["data"]
PAIRS = sorted(CONVERTER.pairs())


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("data-samples")
    return {fmt: data_sample(folder / f"sample.{fmt}", fmt) for fmt in CONVERTER.sources}


def test_advertises_the_tabular_formats():
    assert set(CONVERTER.sources) == {"csv", "tsv", "json", "jsonl", "yaml", "xml", "xlsx", "ods", "parquet"}
    assert set(CONVERTER.targets) == set(CONVERTER.sources)


@pytest.mark.parametrize("source,target", PAIRS, ids=[f"{s}-{t}" for s, t in PAIRS])
async def test_every_pair_converts(convert_file, samples, source, target):
    out = await convert_file(CONVERTER, samples[source], target)
    assert sniff(out, target) == target
    assert names_in(out, target) == NAMES


async def test_types_survive_between_typed_formats(convert_file, samples):
    out = await convert_file(CONVERTER, samples["parquet"], "json")
    assert json.loads(out.read_text())[0] == {"name": "Ana", "city": "Lugo", "age": 31}


async def test_nested_values_become_json_text_in_flat_formats(convert_file, tmp_path):
    nested = tmp_path / "nested.json"
    nested.write_text(json.dumps([{"id": 1, "tags": ["a", "b"], "owner": {"name": "Ana"}}]))
    out = await convert_file(CONVERTER, nested, "csv")
    assert out.read_text().splitlines() == ["id,tags,owner", '1,"[""a"", ""b""]","{""name"": ""Ana""}"']
    back = await convert_file(CONVERTER, nested, "yaml")
    assert "- id: 1\n  tags:\n  - a\n  - b\n" in back.read_text()


async def test_text_that_looks_like_a_formula_stays_text_in_xlsx(convert_file, samples):
    out = await convert_file(CONVERTER, samples["csv"], "xlsx")
    cell = load_workbook(out).worksheets[0]["A4"]
    assert cell.value == "=1+1" and cell.data_type == "s"


async def test_a_text_file_is_read_as_the_format_it_is_named(convert_file, tmp_path):
    semicolons = tmp_path / "list.tsv"
    semicolons.write_text("name\tage\nAna\t31\n")
    out = await convert_file(CONVERTER, semicolons, "json")
    assert json.loads(out.read_text()) == [{"name": "Ana", "age": "31"}]


# -- what it refuses --------------------------------------------------------------------------------------------

async def refused(convert_file, src: Path, target: str = "json") -> AncloraError:
    started = time.monotonic()
    with pytest.raises(AncloraError) as caught:
        await convert_file(CONVERTER, src, target)
    assert time.monotonic() - started < 30, "refusals are quick"
    assert caught.value.status in (415, 422)
    return caught.value


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol">
""" + "".join(f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10 if n > 1 else "&lol;" * 10}">\n'
              for n in range(1, 10)) + "]>\n<rows><row><a>&lol9;</a></row></rows>\n"
XXE = """<?xml version="1.0"?>
<!DOCTYPE rows [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<rows><row><a>&secret;</a></row></rows>
"""


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
async def test_xml_entities_are_refused(convert_file, tmp_path, payload):
    hostile = tmp_path / "rows.xml"
    hostile.write_text(payload)
    error = await refused(convert_file, hostile, "csv")
    assert isinstance(error, ConversionFailed)
    assert "DTD" in error.message


async def test_a_huge_csv_field_is_refused(convert_file, tmp_path):
    huge = tmp_path / "huge.csv"
    huge.write_text("name,notes\nAna," + "x" * 2_000_000 + "\n")
    error = await refused(convert_file, huge)
    assert "field larger than field limit" in error.message


async def test_a_huge_json_value_is_refused(convert_file, tmp_path):
    huge = tmp_path / "huge.json"
    huge.write_text(json.dumps([{"notes": "x" * 2_000_000}]))
    assert "longer than" in (await refused(convert_file, huge, "csv")).message


async def test_deep_nesting_is_refused(convert_file, tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    assert "nested" in (await refused(convert_file, deep)).message
    moderately = tmp_path / "moderate.json"
    moderately.write_text(json.dumps([{"a": json.loads("[" * 40 + "]" * 40)}]))
    assert "nested more than 32 levels" in (await refused(convert_file, moderately)).message


async def test_yaml_alias_bomb_is_refused(convert_file, tmp_path):
    bomb = tmp_path / "bomb.yaml"
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    lines += [f"{chr(98 + n)}: &{chr(98 + n)} [*{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}]"
              for n in range(9)]
    bomb.write_text("\n".join(lines) + "\n")
    assert "aliases" in (await refused(convert_file, bomb)).message


async def test_yaml_python_tags_are_refused(convert_file, tmp_path):
    tagged = tmp_path / "tagged.yaml"
    tagged.write_text("- !!python/object/apply:os.system ['touch pwned']\n")
    await refused(convert_file, tagged)
    assert not (tmp_path / "pwned").exists()


async def test_too_many_rows_are_refused(convert_file, tmp_path):
    many = tmp_path / "many.csv"
    many.write_text("n\n" + "1\n" * 200_001)
    assert "more than 200000 rows" in (await refused(convert_file, many)).message


async def test_a_zip_bomb_named_xlsx_is_refused_before_parsing(convert_file, tmp_path):
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * 64 * 1024**2)
    error = await refused(convert_file, bomb)
    assert isinstance(error, ConversionFailed)


async def test_a_damaged_xlsx_fails_cleanly(convert_file, tmp_path):
    damaged = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(damaged, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook this is not xml")
    error = await refused(convert_file, damaged)
    assert isinstance(error, ConversionFailed) and "/" not in error.message


async def test_a_truncated_xlsx_is_not_taken_for_one(convert_file, samples, tmp_path):
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(samples["xlsx"].read_bytes()[:400])
    assert isinstance(await refused(convert_file, truncated), UnsupportedMediaType)


async def test_binary_input_is_not_data(convert_file, tmp_path):
    picture = tmp_path / "table.csv"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    assert isinstance(await refused(convert_file, picture), UnsupportedMediaType)


async def test_repeated_empty_ods_cells_are_not_expanded(convert_file, tmp_path):
    # LibreOffice writes a million repeated empty cells; expanding them would cost gigabytes.
    content = ('<?xml version="1.0"?><office:document-content '
               'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet>'
               '<table:table><table:table-row><table:table-cell office:value-type="string"><text:p>name</text:p>'
               '</table:table-cell><table:table-cell table:number-columns-repeated="16000000"/></table:table-row>'
               '<table:table-row><table:table-cell office:value-type="string"><text:p>Ana</text:p>'
               '</table:table-cell></table:table-row>'
               '<table:table-row table:number-rows-repeated="1048575"><table:table-cell/></table:table-row>'
               '</table:table></office:spreadsheet></office:body></office:document-content>')
    sheet = tmp_path / "sparse.ods"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", content)
    sheet.write_bytes(buffer.getvalue())
    out = await convert_file(CONVERTER, sheet, "json")
    assert json.loads(out.read_text()) == [{"name": "Ana"}]


# -- through the HTTP API ---------------------------------------------------------------------------------------

@pytest.fixture
def anclora_overrides():
    return {"plugins_block": ["office", "markup", "pdf"]}


async def test_one_shot_conversion_over_http(client, samples):
    response = await client.post("/api/convert?to=json&filename=people.csv", content=samples["csv"].read_bytes())
    assert response.status_code == 200, response.text
    assert [row["name"] for row in response.json()] == NAMES


async def test_billion_laughs_over_http_is_a_json_422(client):
    response = await client.post("/api/convert?to=csv&filename=rows.xml", content=BILLION_LAUGHS.encode())
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "conversion_failed"
