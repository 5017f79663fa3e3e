"""Real files of every format hoidap reads, written by the libraries agencies' files come from.

Tests and benchmarks both use these: python-docx writes Word files, fpdf2 writes PDFs in
DejaVu Sans (a font with every Vietnamese glyph) with a running header and a page footer,
pdftoppm (poppler-utils) renders a PDF page to an image, LibreOffice saves a .doc.

`REGULATION` is a made-up regulation in the shape of a real one: chapters, articles
("Điều"), numbered clauses with lettered points, and a fee table.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
TITLE = "Quy chế đào tạo trình độ đại học của Trường Đại học Mẫu"

# (kind, text): kind is "h1" (chapter), "h2" (article), "p", "1" (numbered clause), "a" (lettered point),
# "table" (rows split by "|").
Block = tuple[str, str]

_TOPICS = [
    ("Phạm vi điều chỉnh", "Quy chế này quy định về tổ chức đào tạo trình độ đại học theo hệ thống tín chỉ"),
    ("Đối tượng áp dụng", "Quy chế này áp dụng đối với sinh viên, giảng viên và các đơn vị trong trường"),
    ("Chương trình đào tạo", "Chương trình đào tạo được xây dựng theo đơn vị tín chỉ và công bố công khai"),
    ("Học phần và tín chỉ", "Học phần là khối lượng kiến thức tương đối trọn vẹn, thuận tiện cho sinh viên tích lũy"),
    ("Năm học và học kỳ", "Một năm học có hai học kỳ chính, mỗi học kỳ có ít nhất mười lăm tuần thực học"),
    ("Thời gian học tập", "Sinh viên hoàn thành khóa học trong thời gian tối đa là thời gian thiết kế cộng 06 học kỳ"),
    ("Đăng ký khối lượng học tập", "Sinh viên đăng ký tối thiểu 14 tín chỉ trong mỗi học kỳ chính"),
    ("Đánh giá học phần", "Điểm học phần được tính từ tổng các điểm đánh giá bộ phận nhân với trọng số tương ứng"),
    ("Học phí", "Sinh viên nộp học phí theo số tín chỉ đăng ký học trong từng học kỳ"),
    ("Cảnh báo học tập", "Sinh viên bị cảnh báo học tập khi điểm trung bình học kỳ dưới 1,0 theo thang điểm 4"),
    ("Điều kiện tốt nghiệp", "Sinh viên được xét tốt nghiệp khi tích lũy đủ số tín chỉ của chương trình đào tạo"),
    ("Hiệu lực thi hành", "Quy chế này có hiệu lực kể từ ngày ký ban hành và thay thế các quy định trước đây"),
]


def regulation(articles: int = len(_TOPICS)) -> list[Block]:
    """The regulation's blocks: two chapters, `articles` articles of three clauses, a fee table in article 9."""
    blocks: list[Block] = [("p", TITLE), ("p", "Ban hành kèm theo Quyết định số 123/QĐ-ĐHM ngày 15/8/2021")]
    for i in range(articles):
        name, lead = _TOPICS[i % len(_TOPICS)]
        if i == 0:
            blocks.append(("h1", "Chương I. Những quy định chung"))
        if i == 4:
            blocks.append(("h1", "Chương II. Tổ chức đào tạo"))
        blocks.append(("h2", f"Điều {i + 1}. {name}"))
        blocks.append(("1", f"{lead}."))
        blocks.append(("1", f"Phòng Đào tạo hướng dẫn thực hiện nội dung về {name.lower()} đối với từng khóa học."))
        blocks.append(("a", f"Khoa quản lý sinh viên theo dõi việc thực hiện {name.lower()} hằng học kỳ."))
        blocks.append(("a", "Kết quả thực hiện được báo cáo Hiệu trưởng vào cuối mỗi năm học."))
        blocks.append(("1", f"Trường hợp đặc biệt về {name.lower()} do Hiệu trưởng xem xét, quyết định."))
        if i == 8:
            blocks.append(("table", "Ngành học | Học phí mỗi tín chỉ"))
            blocks.append(("table", "Công nghệ thông tin | 450.000 đồng"))
            blocks.append(("table", "Kinh tế | 380.000 đồng"))
    return blocks


def _numbered(blocks: list[Block]) -> list[tuple[str, str]]:
    """Blocks with their list markers written out ("1.", "a)"), as a printed document shows them."""
    out, clause, point = [], 0, 0
    for kind, text in blocks:
        if kind == "h2":
            clause = 0
        if kind == "1":
            clause, point = clause + 1, 0
            out.append((kind, f"{clause}. {text}"))
        elif kind == "a":
            point += 1
            out.append((kind, f"{'abcdefgh'[point - 1]}) {text}"))
        else:
            out.append((kind, text))
    return out


def write_docx(path: Path, blocks: list[Block]) -> Path:
    """A Word file as Word writes one: chapters as Heading 1, articles as Heading 2, clauses in an
    automatic numbered list ("1.") restarted in each article with points one level down ("a)"),
    the table as a table, and a page header and footer."""
    import docx
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    document = docx.Document()
    document.core_properties.title = TITLE
    section = document.sections[0]
    section.header.paragraphs[0].text = "TRƯỜNG ĐẠI HỌC MẪU - VĂN BẢN NỘI BỘ"
    section.footer.paragraphs[0].text = "Lưu hành nội bộ"
    numbering = document.part.numbering_part.element
    numbering.insert(
        0,
        parse_xml(
            f'<w:abstractNum {nsdecls("w")} w:abstractNumId="90">'
            '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%1."/></w:lvl>'
            '<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="lowerLetter"/><w:lvlText w:val="%2)"/></w:lvl>'
            "</w:abstractNum>"
        ),
    )
    list_id = 100
    rows: list[list[str]] = []
    for kind, text in [*blocks, ("end", "")]:
        if kind != "table" and rows:
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            for r, row in enumerate(rows):
                for c, cell in enumerate(row):
                    table.cell(r, c).text = cell
            rows = []
        if kind == "h1":
            document.add_heading(text, level=1)
        elif kind == "h2":
            document.add_heading(text, level=2)
            list_id += 1  # each article numbers its clauses from 1
            numbering.append(
                parse_xml(f'<w:num {nsdecls("w")} w:numId="{list_id}"><w:abstractNumId w:val="90"/></w:num>')
            )
        elif kind in ("1", "a"):
            paragraph = document.add_paragraph(text, style="List Paragraph")
            paragraph._p.get_or_add_pPr().append(
                parse_xml(
                    f'<w:numPr {nsdecls("w")}><w:ilvl w:val="{0 if kind == "1" else 1}"/>'
                    f'<w:numId w:val="{list_id}"/></w:numPr>'
                )
            )
        elif kind == "table":
            rows.append([cell.strip() for cell in text.split("|")])
        elif kind == "p":
            document.add_paragraph(text)
    document.save(str(path))
    return path


def write_pdf(path: Path, blocks: list[Block], size: float = 12) -> Path:
    """A PDF with a text layer, A4, DejaVu Sans, the title as a running header and "Trang N" as footer."""
    from fpdf import FPDF

    class Paged(FPDF):
        def header(self) -> None:
            self.set_font("DejaVu", size=8)
            self.cell(0, 6, TITLE, align="C", new_x="LMARGIN", new_y="NEXT")
            self.ln(4)

        def footer(self) -> None:
            self.set_y(-15)
            self.set_font("DejaVu", size=8)
            self.cell(0, 10, f"Trang {self.page_no()}", align="C")

    pdf = Paged(format="A4")
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    for kind, text in _numbered(blocks):
        pdf.set_font("DejaVu", size=size + (2 if kind in ("h1", "h2") else 0))
        indent = 8 if kind == "a" else 0
        if kind == "table":
            row = "    ".join(cell.strip() for cell in text.split("|"))
            pdf.cell(0, size * 0.6, row, new_x="LMARGIN", new_y="NEXT")
            continue
        pdf.set_x(pdf.l_margin + indent)
        pdf.multi_cell(0, size * 0.6, text, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    pdf.output(str(path))
    return path


def write_text_pdf(path: Path, paragraphs: list[str], size: float = 12) -> Path:
    """A PDF of plain paragraphs (an article), with the same header and footer as `write_pdf`."""
    return write_pdf(path, [("p", p) for p in paragraphs], size)


def write_html(path: Path, blocks: list[Block]) -> Path:
    """A saved web page: the regulation inside site chrome (menu, related links, a comment form, a footer)."""
    from html import escape

    body = []
    for kind, text in _numbered(blocks):
        if kind == "h1":
            body.append(f"<h2>{escape(text)}</h2>")
        elif kind == "h2":
            body.append(f"<h3>{escape(text)}</h3>")
        elif kind != "table":
            body.append(f"<p>{escape(text)}</p>")
    chrome_links = "".join(f'<li><a href="/tin/{i}">Tin liên quan số {i} về tuyển sinh</a></li>' for i in range(8))
    page = f"""<!doctype html><html lang="vi"><head><meta charset="utf-8">
<title>{escape(TITLE)} - Cổng thông tin Trường Đại học Mẫu</title>
<meta property="og:title" content="{escape(TITLE)}">
<meta property="article:published_time" content="2021-08-15T08:00:00+07:00"></head>
<body><header><nav><a href="/">Trang chủ</a> | <a href="/gioi-thieu">Giới thiệu</a> |
<a href="/tin">Tin tức</a></nav></header>
<main><article><h1>{escape(TITLE)}</h1>{"".join(body)}</article></main>
<aside><h4>Bài viết liên quan</h4><ul>{chrome_links}</ul></aside>
<section class="comments"><form><label>Họ tên:(*)</label><input name="ten"><label>Bình luận</label>
<textarea></textarea><button>Gửi bình luận</button></form></section>
<footer>Bản quyền thuộc Trường Đại học Mẫu. Địa chỉ: số 1 đường Mẫu, Hà Nội.</footer></body></html>"""
    path.write_text(page, "utf-8")
    return path


def render_page(pdf: Path, page: int, dpi: int, out: Path) -> Path:
    """Page `page` (1-based) of a PDF as a PNG image at `dpi`, by pdftoppm (poppler-utils)."""
    stem = out.with_suffix("")
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile", str(pdf), str(stem)],
        check=True,
        capture_output=True,
    )
    made = stem.with_suffix(".png")
    if made != out:
        made.rename(out)
    return out


def image_pdf(images: list[Path], out: Path) -> Path:
    """A scanned PDF: each image as one page with no text layer (what a scanner writes)."""
    from PIL import Image

    pages = [Image.open(image).convert("RGB") for image in images]
    pages[0].save(out, save_all=True, append_images=pages[1:], resolution=300.0)
    return out


def convert(source: Path, fmt: str, out_dir: Path) -> Path:
    """`source` saved by LibreOffice as `fmt` ("doc", "odt", "rtf") in `out_dir`."""
    program = shutil.which("soffice") or shutil.which("libreoffice")
    if program is None:
        raise FileNotFoundError("LibreOffice (soffice) is not installed")
    with tempfile.TemporaryDirectory(prefix="hoidap-lo-") as profile:
        subprocess.run(
            [program, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless", "--convert-to", fmt,
             "--outdir", str(out_dir), str(source)],
            check=True, capture_output=True, timeout=180,
        )  # fmt: skip
    return out_dir / f"{source.stem}.{fmt}"
