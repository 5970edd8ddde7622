#!/usr/bin/env python3
"""Writes streamed.xlsx: a workbook zipped by a streaming writer (sizes and CRCs in data
descriptors after each entry, general purpose flag bit 3), as Java-based generators write them.
Used by xlsx_test.cpp (StreamedZipFixture). Run from this folder: python3 make_streamed_xlsx.py"""
import io
import zipfile


class NonSeekable(io.RawIOBase):
    def __init__(self, sink):
        self.sink = sink

    def writable(self):
        return True

    def write(self, b):
        self.sink.write(b)
        return len(b)


NS = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main'
REL = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships'
PKG = 'http://schemas.openxmlformats.org/package/2006/relationships'
parts = {
    '[Content_Types].xml': '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
    '_rels/.rels': f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    'xl/workbook.xml': f'<workbook xmlns="{NS}" xmlns:r="{REL}"><sheets><sheet name="Notes" sheetId="1" r:id="rId1"/><sheet name="Exportateurs" sheetId="2" r:id="rId2"/></sheets></workbook>',
    'xl/_rels/workbook.xml.rels': f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{REL}/worksheet" Target="worksheets/sheet2.xml"/><Relationship Id="rId3" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rId4" Type="{REL}/styles" Target="styles.xml"/></Relationships>',
    'xl/sharedStrings.xml': f'<sst xmlns="{NS}"><si><t>ICE</t></si><si><t>Raison sociale</t></si><si><t>Date d\'agrément</t></si><si><t>Coopérative Tighanimine</t></si><si><t>notes</t></si></sst>',
    'xl/styles.xml': f'<styleSheet xmlns="{NS}"><numFmts count="1"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/></numFmts><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="164" applyNumberFormat="1"/></cellXfs></styleSheet>',
    'xl/worksheets/sheet1.xml': f'<worksheet xmlns="{NS}"><sheetData><row r="1"><c r="A1" t="s"><v>4</v></c></row></sheetData></worksheet>',
    'xl/worksheets/sheet2.xml': f'<worksheet xmlns="{NS}"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>001234567000089</t></is></c><c r="B2" t="s"><v>3</v></c><c r="C2" s="1"><v>45366</v></c></row></sheetData></worksheet>',
}
out = io.BytesIO()
with zipfile.ZipFile(NonSeekable(out), 'w', zipfile.ZIP_DEFLATED) as z:
    for name, xml in parts.items():
        info = zipfile.ZipInfo(name, date_time=(2024, 3, 15, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with z.open(info, 'w') as f:
            f.write(('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + xml).encode())
with open('streamed.xlsx', 'wb') as f:
    f.write(out.getvalue())
