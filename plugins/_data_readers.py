"""Readers: each tabular format into a Table, refusing what is too big or too deep (see _data_table.py)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Iterator

from _data_table import MAX_CELL_CHARS, MAX_COLUMNS, MAX_ROWS, Table, as_text

from anclora.engines.worker import Refused

TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"

def read_delimited(src: Path, delimiter: str) -> Table:
    csv.field_size_limit(MAX_CELL_CHARS)
    table = Table()
    with open(src, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            header = unique_names(next(reader, []))
            for row in reader:
                if any(row):
                    header += [f"column_{index + 1}" for index in range(len(header), len(row))]
                    table.add(dict(zip(header, row)))
        except csv.Error as error:
            raise Refused(f"the {'tsv' if delimiter == chr(9) else 'csv'} data is invalid: {error}") from None
    return table


def unique_names(header: list[Any]) -> list[str]:
    names: list[str] = []
    for index, name in enumerate(header):
        name = as_text(name).strip() or f"column_{index + 1}"
        names.append(name if name not in names else f"{name}_{index + 1}")
    if len(names) > MAX_COLUMNS:
        raise Refused(f"the data has more than {MAX_COLUMNS} columns")
    return names


def read_json(src: Path) -> Table:
    with open(src, encoding="utf-8-sig") as handle:
        data = json.load(handle)
    return records_table(data if isinstance(data, list) else [data])


def read_jsonl(src: Path) -> Table:
    table = Table()
    with open(src, encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, 1):
            if len(line) > MAX_CELL_CHARS:
                raise Refused(f"line {number} is longer than {MAX_CELL_CHARS} characters")
            if line.strip():
                table.add(as_record(json.loads(line)))
    return table


def as_record(item: Any) -> dict[str, Any]:
    return item if isinstance(item, dict) else {"value": item}


def records_table(items: list[Any]) -> Table:
    table = Table()
    for item in items:
        table.add(as_record(item))
    return table


def read_yaml(src: Path) -> Table:
    import yaml

    class NoAliasLoader(yaml.SafeLoader):
        """safe_load without anchors and aliases: an alias bomb expands to billions of nodes when written out."""

        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                raise Refused("YAML aliases are not accepted")
            return super().compose_node(parent, index)

    with open(src, encoding="utf-8-sig") as handle:
        try:
            data = yaml.load(handle, Loader=NoAliasLoader)
        except yaml.YAMLError as error:
            raise Refused(f"the yaml data is invalid: {str(error)[:200]}") from None
    return records_table(data if isinstance(data, list) else [data])


def read_xml(src: Path) -> Table:
    import defusedxml
    import defusedxml.ElementTree as ElementTree

    try:
        root = ElementTree.parse(src, forbid_dtd=True, forbid_entities=True, forbid_external=True).getroot()
    except defusedxml.DefusedXmlException:
        raise Refused("XML with a DTD, entities or external references is not accepted") from None
    except ElementTree.ParseError as error:
        raise Refused(f"the xml data is invalid: {error}") from None
    table = Table()
    for element in root:
        record = {local_name(key): value for key, value in element.attrib.items()}
        for child in element:
            record[local_name(child.tag)] = (child.text or "").strip()
        if not len(element) and not element.attrib:
            record["value"] = (element.text or "").strip()
        table.add(record)
    return table


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def read_xlsx(src: Path) -> Table:
    import openpyxl  # parses its XML through defusedxml when it is installed

    workbook = openpyxl.load_workbook(src, read_only=True, data_only=True)
    sheet = workbook.worksheets[0]
    sheet.reset_dimensions()  # a claimed A1:XFD1048576 must not pad every row
    return grid_table(list(row) for row in sheet.iter_rows(values_only=True))


def grid_table(rows: Iterator[list[Any]]) -> Table:
    """Rows of cells, the first one naming the columns; empty rows are skipped."""
    table, header = Table(), None
    for row in rows:
        while row and row[-1] in (None, ""):
            row.pop()
        if not row:
            continue
        if len(row) > MAX_COLUMNS:
            raise Refused(f"the data has more than {MAX_COLUMNS} columns")
        if header is None:
            header = unique_names(row)
            continue
        header += [f"column_{index + 1}" for index in range(len(header), len(row))]
        table.add({name: value for name, value in zip(header, row) if value not in (None, "")})
    return table


def read_ods(src: Path) -> Table:
    import zipfile

    with zipfile.ZipFile(src) as archive, archive.open("content.xml") as content:
        return grid_table(ods_rows(content))


def ods_rows(content) -> Iterator[list[Any]]:
    """The rows of the first sheet; repeated empty cells and rows (LibreOffice writes millions) are not expanded."""
    import defusedxml.ElementTree as ElementTree

    in_table = False
    for event, element in ElementTree.iterparse(content, events=("start", "end"), forbid_dtd=True):
        if element.tag == f"{{{TABLE_NS}}}table":
            if event == "end":
                return
            in_table = True
        elif in_table and event == "end" and element.tag == f"{{{TABLE_NS}}}table-row":
            row = ods_cells(element)
            repeat = int(element.get(f"{{{TABLE_NS}}}number-rows-repeated", "1")) if row else 1
            for _ in range(min(repeat, MAX_ROWS + 1)):
                yield list(row)
            element.clear()


def ods_cells(row_element) -> list[Any]:
    cells: list[Any] = []
    for cell in row_element:
        if cell.tag not in (f"{{{TABLE_NS}}}table-cell", f"{{{TABLE_NS}}}covered-table-cell"):
            continue
        value = ods_value(cell)
        repeat = int(cell.get(f"{{{TABLE_NS}}}number-columns-repeated", "1"))
        if value in (None, ""):
            cells.extend([None] * min(repeat, MAX_COLUMNS + 1))
        else:
            cells.extend([value] * min(repeat, MAX_COLUMNS + 1))
        if len(cells) > MAX_COLUMNS:
            while cells and cells[-1] is None:
                cells.pop()
            if len(cells) > MAX_COLUMNS:
                raise Refused(f"the data has more than {MAX_COLUMNS} columns")
    return cells


def ods_value(cell) -> Any:
    kind = cell.get(f"{{{OFFICE_NS}}}value-type")
    if kind in ("float", "percentage", "currency"):
        number = float(cell.get(f"{{{OFFICE_NS}}}value"))
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if kind == "boolean":
        return cell.get(f"{{{OFFICE_NS}}}boolean-value") == "true"
    if kind == "date":
        return cell.get(f"{{{OFFICE_NS}}}date-value")
    paragraphs = ["".join(p.itertext()) for p in cell if p.tag == f"{{{TEXT_NS}}}p"]
    return "\n".join(paragraphs) or None


def read_parquet(src: Path) -> Table:
    import pyarrow.parquet as parquet

    reader = parquet.ParquetFile(src)
    if reader.metadata.num_rows > MAX_ROWS:
        raise Refused(f"the data has more than {MAX_ROWS} rows")
    if reader.metadata.num_columns > MAX_COLUMNS:
        raise Refused(f"the data has more than {MAX_COLUMNS} columns")
    return records_table(reader.read().to_pylist())


READERS = {
    "csv": lambda src: read_delimited(src, ","), "tsv": lambda src: read_delimited(src, "\t"),
    "json": read_json, "jsonl": read_jsonl, "yaml": read_yaml, "xml": read_xml, "xlsx": read_xlsx,
    "ods": read_ods, "parquet": read_parquet,
}
