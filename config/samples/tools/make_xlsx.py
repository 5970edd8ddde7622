#!/usr/bin/env python3
"""Writes the XLSX sample workbooks of config/samples (see config/samples/README.md).

Uses only the standard library: the workbook parts are hand-written SpreadsheetML, as Excel
saves them (shared strings, a styles part whose cell format 1 is the built-in date format 14
"dd/mm/yyyy", numbers as numbers). The zip entries carry a fixed date, so running the script
again gives the same bytes.

    python3 config/samples/tools/make_xlsx.py          # rewrites the sample workbooks
    python3 config/samples/tools/make_xlsx.py --check  # exits 1 when a workbook is stale

Cell values in the tables below: str → shared string; int/float → number; datetime.date →
date serial shown with the date format; Text("…") → a string even when it looks like a number
or a date (what a clerk types into a cell formatted as text); None → no cell.
"""
import datetime
import io
import pathlib
import sys
import zipfile
from xml.sax.saxutils import escape

SAMPLES = pathlib.Path(__file__).resolve().parent.parent
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
FIXED_TIME = (2024, 4, 2, 9, 30, 0)


class Text(str):
    """A value stored as a string cell whatever it looks like."""


def column(index):
    name = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        name = chr(ord("A") + rem) + name
    return name


def serial(day):
    return (day - datetime.date(1899, 12, 30)).days


class Workbook:
    def __init__(self):
        self.sheets = []  # (name, rows as {row number: [values]})
        self.strings = []
        self.index = {}

    def sheet(self, name, rows):
        self.sheets.append((name, rows))
        return self

    def _shared(self, text):
        if text not in self.index:
            self.index[text] = len(self.strings)
            self.strings.append(text)
        return self.index[text]

    def _sheet_xml(self, rows):
        out = [f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{NS}">'
               "<sheetData>"]
        for r, values in sorted(rows.items()):
            out.append(f'<row r="{r}">')
            for c, value in enumerate(values):
                ref = f"{column(c)}{r}"
                if value is None:
                    continue
                if isinstance(value, datetime.date):
                    out.append(f'<c r="{ref}" s="1"><v>{serial(value)}</v></c>')
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    out.append(f'<c r="{ref}"><v>{value}</v></c>')
                else:
                    out.append(f'<c r="{ref}" t="s"><v>{self._shared(str(value))}</v></c>')
            out.append("</row>")
        out.append("</sheetData></worksheet>")
        return "".join(out)

    def build(self):
        sheets_xml = [self._sheet_xml(rows) for _, rows in self.sheets]
        n = len(self.sheets)
        content_types = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            + "".join(f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                      for i in range(n))
            + '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            "</Types>")
        root_rels = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{PKG}">'
                     f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/>'
                     "</Relationships>")
        workbook = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{NS}" xmlns:r="{REL}"><sheets>'
                    + "".join(f'<sheet name="{escape(name, {chr(34): "&quot;"})}" sheetId="{i + 1}" r:id="rId{i + 1}"/>'
                              for i, (name, _) in enumerate(self.sheets))
                    + "</sheets></workbook>")
        workbook_rels = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{PKG}">'
                         + "".join(f'<Relationship Id="rId{i + 1}" Type="{REL}/worksheet" Target="worksheets/sheet{i + 1}.xml"/>'
                                   for i in range(n))
                         + f'<Relationship Id="rId{n + 1}" Type="{REL}/styles" Target="styles.xml"/>'
                         f'<Relationship Id="rId{n + 2}" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
                         "</Relationships>")
        # Cell format 0: General; 1: built-in number format 14, the short date ("dd/mm/yyyy" in
        # a French Excel).
        styles = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{NS}">'
                  '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
                  '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
                  '<borders count="1"><border/></borders>'
                  '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
                  '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
                  '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
                  "</styleSheet>")
        shared = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{NS}" count="{len(self.strings)}" uniqueCount="{len(self.strings)}">'
                  + "".join(f'<si><t xml:space="preserve">{escape(s)}</t></si>' for s in self.strings)
                  + "</sst>")
        parts = [("[Content_Types].xml", content_types), ("_rels/.rels", root_rels),
                 ("xl/workbook.xml", workbook), ("xl/_rels/workbook.xml.rels", workbook_rels),
                 ("xl/styles.xml", styles)]
        parts += [(f"xl/worksheets/sheet{i + 1}.xml", xml) for i, xml in enumerate(sheets_xml)]
        parts.append(("xl/sharedStrings.xml", shared))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in parts:
                info = zipfile.ZipInfo(name, FIXED_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, data.encode("utf-8"))
        return buf.getvalue()


D = datetime.date

# --- artisanat, MA-03 Fès-Meknès: one sheet, header on row 1 ------------------------------------
ARTISANAT_HEADER = ["N° carte artisan", "ICE", "Raison sociale", "Nom en arabe", "Ville", "Atelier",
                    "Sexe", "Catégorie", "Code SH", "Pays de destination", "Date d'expédition",
                    "Quantité", "Unité", "Valeur (MAD)"]
ARTISANAT_ROWS = [
    ["FS-03-00871", None, "Driss Tazi", "إدريس التازي", "Fès", "Tannerie Chouara", "H", "Maroquinerie", 420221, "FR", D(2024, 1, 12), 250, None, 62500],
    ["FS-03-00871", None, "Driss Tazi", "إدريس التازي", "Fès", "Tannerie Chouara", "H", "Maroquinerie", 420221, "FR", D(2024, 1, 26), 100, None, 25000.5],
    [None, Text("001525148000067"), "Zellige Fès Aïn Nokbi SARL", "زليج فاس عين النقبي", "Fès", None, None, "Zellige", None, "ES", D(2024, 2, 5), 120, "m2", 84000],
    # The ICE typed as a number: Excel dropped its two leading zeros.
    [None, 1525148000067, "Zellige Fès Aïn Nokbi SARL", "زليج فاس عين النقبي", "Fès", None, None, "Zellige", None, "US", D(2024, 3, 19), 60, "m2", 45600],
    ["FS-03-01245", None, "Mohammed Seffar", "محمد الصفار", "Fès", "Souk Seffarine", "H", "Dinanderie", None, "DE", D(2024, 2, 14), 70, None, 31500],
    ["FS-03-01302", None, "Amina Bennis", "أمينة بنيس", "Fès", None, "F", "Poterie", 691200, "FR", D(2024, 3, 8), 400, None, 28000],
    ["MK-03-02210", None, "Abdelhak Bouanani", "عبد الحق البوعناني", "Meknès", "Atelier de damasquinerie", "H", "Ferronnerie", Text("8306.29"), "FR", D(2024, 1, 30), 35, None, 17500],
    ["SF-03-03011", None, "Latifa Sefrioui", "لطيفة الصفريوي", "Sefrou", "Coopérative Sefrou Broderie", "F", "Textiles", None, "BE", D(2024, 2, 21), 90, None, 13950],
    ["FS-03-01302", None, "Amina Bennis", "أمينة بنيس", "Fès", None, "F", "Poterie", None, "GB", D(2024, 3, 27), 150, None, 11250.75],
    [None, Text("002030405000019"), "Fassi Bois Sculpté SARL AU", "فاسي للخشب المنحوت", "Fès", None, None, "Bois", None, "FR", D(2024, 2, 9), 40, None, 22000],
    ["TA-03-04102", None, "Rachida Ouazzani", "رشيدة الوزاني", "Taounate", None, "F", "Vannerie", None, "ES", D(2024, 3, 4), 300, None, 9000],
    # Deliberately bad rows (README): 31 April, a future date, chapter 77, unknown category
    # without HS code, no identifier, an amount in euros.
    ["FS-03-00902", None, "Karim Alami", "كريم العلمي", "Fès", None, "H", "Maroquinerie", None, "IT", Text("31/04/2024"), 50, None, 12500],
    ["FS-03-00915", None, "Nadia Berrada", "نادية برادة", "Fès", None, "F", "Poterie", None, "FR", D(2031, 5, 10), 80, None, 6400],
    ["FS-03-00930", None, "Hicham Kettani", "هشام الكتاني", "Fès", None, "H", "Dinanderie", Text("7701.10"), "DE", D(2024, 2, 2), 20, None, 4800],
    ["FS-03-00944", None, "Samira Fassi Fihri", "سميرة الفاسي الفهري", "Fès", None, "F", "Tapisserie murale", None, "FR", D(2024, 1, 18), 10, None, 7500],
    [None, None, "Atelier Nejjarine", None, "Fès", None, None, "Bois", None, "FR", D(2024, 3, 12), 15, None, 6750],
    ["FS-03-00968", None, "Omar Lahlou", "عمر لحلو", "Fès", None, "H", "Maroquinerie", None, "FR", D(2024, 3, 15), 30, None, Text("1 500 EUR")],
    ["FS-03-01245", None, "Mohammed Seffar", "محمد الصفار", "Fès", "Souk Seffarine", "H", "Dinanderie", None, "DE", D(2024, 2, 28), 30, None, 13500],
    ["MK-03-02210", None, "Abdelhak Bouanani", "عبد الحق البوعناني", "Meknès", "Atelier de damasquinerie", "H", "Ferronnerie", None, "US", D(2024, 3, 6), 12, None, 8400],
    ["FS-03-00871", None, "Driss Tazi", "إدريس التازي", "Fès", "Tannerie Chouara", "H", "Maroquinerie", None, "NL", D(2024, 2, 16), 120, None, 30000],
    ["TA-03-04102", None, "Rachida Ouazzani", "رشيدة الوزاني", "Taounate", None, "F", "Vannerie", None, "FR", D(2024, 3, 22), 200, None, 6000],
]

# --- cooperatives, MA-03 Fès-Meknès: a notes sheet first, titles above the header (row 3) --------
COOP_HEADER = ["N° ODCo", "ICE", "Nom de la coopérative", "الاسم بالعربية", "Ville", "Date de création",
               "Nombre d'adhérents", "Nombre de femmes", "Produits", "Labels", "Produit", "Code SH",
               "Pays de destination", "Date d'expédition", "Quantité", "Unité", "Valeur (MAD)"]
ZITOUNA = ["2006/142", None, "Coopérative Zitouna Meknès", "تعاونية زيتونة مكناس", "Meknès", D(2006, 5, 18), 80, 15, "Huile d'olive, Olives", "IGP"]
BOULEMANE = ["2012/058", Text("002233445000061"), "Coopérative Aromatique Boulemane", "تعاونية بولمان للنباتات العطرية", "Boulemane", D(2012, 9, 3), 30, 21, "Plantes aromatiques", "Bio"]
NAHLA = ["2010/231", None, "Coopérative Nahla Sefrou", "تعاونية النحلة صفرو", "Sefrou", D(2010, 3, 25), 22, 9, "Miel", "Label agricole"]
TAOUNATE = ["2017/064", None, "Coopérative Taounate Couscous", "تعاونية تاونات للكسكس", "Taounate", D(2017, 11, 14), 25, 25, "Couscous", None]
TAOUJDATE = ["2014/119", None, "Coopérative Aïn Taoujdate", "تعاونية عين تاوجطات", "Aïn Taoujdate", D(2014, 6, 30), 40, 12, "Huile d'olive", "AOP"]
COOP_ROWS = [
    ZITOUNA + ["Huile d'olive", None, "FR", D(2024, 1, 15), 3000, "l", 165000],
    ZITOUNA + ["Huile d'olive", 150920, "FR", D(2024, 1, 29), 2000, "l", 110000],
    ZITOUNA + ["Olives", None, "ES", D(2024, 2, 12), 10000, "kg", 120000],
    BOULEMANE + ["Plantes aromatiques", None, "DE", D(2024, 2, 20), 800, "kg", 36000],
    BOULEMANE + ["Plantes aromatiques", 121190, "FR", D(2024, 3, 5), 500, "kg", 22500.5],
    NAHLA + ["Miel", None, "AE", D(2024, 3, 11), 120, "kg", 30000],
    TAOUNATE + ["Couscous", 190240, "FR", D(2024, 1, 22), 2000, "kg", 24000],
    TAOUJDATE + ["Huile d'olive", None, "IT", D(2024, 3, 18), 4000, "l", 210000],
    TAOUNATE + ["Couscous", None, "BE", D(2024, 3, 26), 1500, "kg", 18000],
    ["2019/201", None, "Coopérative Imouzzer Kandar", "تعاونية إيموزار كندر", "Imouzzer Kandar", D(2019, 4, 2), 18, 18, "Miel, Amandes", None],
    # Deliberately bad rows (README): creation in the future, 29 February 2023, women > members,
    # chapter 99, an unknown label, a value that is not a number.
    ["2022/015", None, "Coopérative Al Fath Fès", "تعاونية الفتح فاس", "Fès", D(2032, 1, 10), 12, 12, "Couscous", None, "Couscous", None, "FR", D(2024, 2, 1), 500, "kg", 6000],
    NAHLA + ["Miel", None, "GB", Text("2023-02-29"), 60, "kg", 15000],
    ["2015/078", None, "Coopérative Ouislane", "تعاونية ويسلان", "Meknès", D(2015, 4, 8), 20, 26, "Huile d'olive", None, "Huile d'olive", None, "DE", D(2024, 2, 19), 1000, "l", 55000],
    ZITOUNA + ["Huile d'olive", Text("9999.00"), "FR", D(2024, 2, 14), 1500, "l", 82500],
    ["2012/058", Text("002233445000061"), "Coopérative Aromatique Boulemane", "تعاونية بولمان للنباتات العطرية", "Boulemane", D(2012, 9, 3), 30, 21, "Plantes aromatiques", "ISO 22000", "Plantes aromatiques", None, "ES", D(2024, 3, 13), 300, "kg", 13500],
    TAOUJDATE + ["Huile d'olive", None, "CA", D(2024, 2, 7), 1000, "l", Text("abc")],
    TAOUJDATE + ["Huile d'olive", None, "CA", D(2024, 2, 7), 1000, "l", 54000],
    NAHLA + ["Miel", None, "FR", D(2024, 2, 16), 80, "kg", 19200],
]


def workbooks():
    art = {1: ARTISANAT_HEADER}
    art.update({i + 2: row for i, row in enumerate(ARTISANAT_ROWS)})
    coop = {1: ["Délégation régionale Fès-Meknès — exportations des coopératives, 1er trimestre 2024"],
            3: COOP_HEADER}
    coop.update({i + 4: row for i, row in enumerate(COOP_ROWS)})
    notes = {1: ["Lisez-moi"],
             2: ["Une ligne par expédition ; les colonnes de la coopérative sont répétées."],
             3: ["Dates au format jj/mm/aaaa, montants en dirhams."]}
    return {
        SAMPLES / "artisanat/MA-03/exportations-artisanat-fes-meknes-2024.xlsx":
            Workbook().sheet("Expéditions", art),
        SAMPLES / "cooperatives/MA-03/cooperatives-fes-meknes-T1-2024.xlsx":
            Workbook().sheet("Lisez-moi", notes).sheet("Exportations", coop),
    }


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for path, wb in workbooks().items():
        data = wb.build()
        if check:
            if not path.exists() or path.read_bytes() != data:
                stale.append(str(path))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            print(f"wrote {path.relative_to(SAMPLES)} ({len(data)} bytes)")
    if stale:
        print("stale (run make_xlsx.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
