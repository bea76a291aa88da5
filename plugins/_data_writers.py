"""Writers: a Table into each tabular format."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

from _data_table import Table, as_text


def write_delimited(table: Table, dst: Path, delimiter: str) -> None:
    with open(dst, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\n")
        writer.writerow(table.columns)
        for row in table.rows:
            writer.writerow([as_text(row.get(column)) for column in table.columns])


def write_json(table: Table, dst: Path) -> None:
    with open(dst, "w", encoding="utf-8") as handle:
        json.dump(table.rows, handle, ensure_ascii=False, indent=2)
        handle.write("\n")


def write_jsonl(table: Table, dst: Path) -> None:
    with open(dst, "w", encoding="utf-8") as handle:
        for row in table.rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_yaml(table: Table, dst: Path) -> None:
    import yaml

    with open(dst, "w", encoding="utf-8") as handle:
        yaml.safe_dump(table.rows, handle, allow_unicode=True, sort_keys=False)


def xml_name(name: str) -> str:
    name = re.sub(r"[^\w.-]", "_", name, flags=re.ASCII)
    return name if re.match(r"[A-Za-z_]", name) and not name.lower().startswith("xml") else f"_{name}"


def write_xml(table: Table, dst: Path) -> None:
    from xml.sax.saxutils import XMLGenerator

    names = {column: xml_name(column) for column in table.columns}
    with open(dst, "w", encoding="utf-8") as handle:
        out = XMLGenerator(handle, encoding="utf-8", short_empty_elements=True)
        out.startDocument()
        out.startElement("records", {})
        for row in table.rows:
            out.startElement("record", {})
            for column, value in row.items():
                if value is not None:
                    out.startElement(names[column], {})
                    out.characters(xml_text(as_text(value)))
                    out.endElement(names[column])
            out.endElement("record")
        out.endElement("records")
        out.endDocument()


def xml_text(text: str) -> str:
    """Drop the control characters XML 1.0 cannot carry at all."""
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "", text)


def spreadsheet_value(value: Any) -> Any:
    return value if isinstance(value, (bool, int, float)) or value is None else as_text(value)


def write_xlsx(table: Table, dst: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("data")

    def cell(value: Any) -> WriteOnlyCell:
        value = spreadsheet_value(value)
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
        written = WriteOnlyCell(sheet, value)
        if isinstance(value, str):
            written.data_type = "s"  # text that starts with "=" stays text, never a formula
        return written

    sheet.append([cell(column) for column in table.columns])
    for row in table.rows:
        sheet.append([cell(row.get(column)) for column in table.columns])
    workbook.save(dst)


def write_ods(table: Table, dst: Path) -> None:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table as Sheet
    from odf.table import TableCell, TableRow
    from odf.text import P

    document = OpenDocumentSpreadsheet()
    sheet = Sheet(name="data")

    def cell(value: Any) -> TableCell:
        value = spreadsheet_value(value)
        if isinstance(value, bool):
            written = TableCell(valuetype="boolean", booleanvalue=str(value).lower())
        elif isinstance(value, (int, float)):
            written = TableCell(valuetype="float", value=value)
        else:
            written = TableCell(valuetype="string")
        if value not in (None, ""):
            written.addElement(P(text=xml_text(str(value))))
        return written

    for values in [list(table.columns)] + [[row.get(column) for column in table.columns] for row in table.rows]:
        row = TableRow()
        for value in values:
            row.addElement(cell(value))
        sheet.addElement(row)
    document.spreadsheet.addElement(sheet)
    document.save(str(dst))


def write_parquet(table: Table, dst: Path) -> None:
    import pyarrow
    import pyarrow.parquet as parquet

    columns = {column: parquet_column([row.get(column) for row in table.rows]) for column in table.columns}
    parquet.write_table(pyarrow.table(columns) if columns else pyarrow.table({}), dst)


def parquet_column(values: list[Any]) -> list[Any]:
    """Values of one type stay typed (ints with floats become floats); a mixed column becomes text."""
    kinds = {type(value) for value in values if value is not None}
    if kinds <= {int, float} and kinds != {int, float} or kinds in ({bool}, {str}):
        return values
    if kinds == {int, float}:
        return [None if value is None else float(value) for value in values]
    return [None if value is None else as_text(value) for value in values]


WRITERS = {
    "csv": lambda table, dst: write_delimited(table, dst, ","),
    "tsv": lambda table, dst: write_delimited(table, dst, "\t"),
    "json": write_json, "jsonl": write_jsonl, "yaml": write_yaml, "xml": write_xml, "xlsx": write_xlsx,
    "ods": write_ods, "parquet": write_parquet,
}
