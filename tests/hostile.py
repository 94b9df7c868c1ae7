"""Builders of hostile documents: each reproduces one finding of issue 15 in a small file.

Every builder takes a folder, writes one file into it and returns its path. They are
deterministic (no clock, seeded randomness), so a failing case can be rebuilt exactly.
``HOSTILE`` lists them with the reason each must fail with under the default limits;
``byte_flipped_pdfs`` derives corrupted copies of real council PDFs when those are present.
"""

from __future__ import annotations

import bz2
import functools
import io
import os
import random
import struct
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

from documents import make_docx


def write_pdf(path: Path, objects: list[bytes]) -> Path:
    """Write numbered PDF objects (object 1 is the catalog) with a correct cross-reference table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    path.write_bytes(out.getvalue())
    return path


def stream(data: bytes, extra: bytes = b"", *, compress: bool = False) -> bytes:
    """A stream object's body; ``compress`` applies FlateDecode."""
    if compress:
        data, extra = zlib.compress(data, 9), extra + b" /Filter /FlateDecode"
    return b"<< /Length %d%s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"


def good_page(topic: bytes) -> bytes:
    """A content stream object with one ordinary paragraph about ``topic`` in mid-page."""
    return stream(b"BT /F1 11 Tf 72 500 Td (The Council agreed %s and noted the report) Tj 0 -14 Td"
                  b" (of the Chief Finance Officer on the robustness of the estimates.) Tj ET" % topic)


def form_number(pages: int, index: int) -> int:
    """The object number ``pdf_pages`` gives form ``index`` in a PDF of ``pages`` pages."""
    return 4 + 2 * pages + index


def pdf_pages(path: Path, pages: list[bytes | None], forms: list[bytes] = ()) -> Path:
    """A PDF of pages with the given content stream objects, Helvetica as /F1 and the first of
    ``forms`` as /X0 on every page. A page given as None is an integer where the page dictionary
    should be: pdfium counts it and cannot load it."""
    count = len(pages)
    font = 3 + 2 * count
    xobjects = b"/X0 %d 0 R" % form_number(count, 0) if forms else b""
    kids = b" ".join(b"%d 0 R" % (3 + 2 * i) for i in range(count))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count)]
    for i, content in enumerate(pages):
        objects.append(b"42" if content is None else
                       b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R /Resources"
                       b" << /Font << /F1 %d 0 R >> /XObject << %s >> >> >>" % (4 + 2 * i, font, xobjects))
        objects.append(content or stream(b""))
    return write_pdf(path, [*objects, _FONT, *forms])


def _multiplying_forms(pages: int, fan_out: int = 10, depth: int = 9) -> list[bytes]:
    """Form XObjects each drawing the next ``fan_out`` times, ``depth`` levels deep (10**9 squares)."""
    forms = []
    for level in range(depth):
        if level < depth - 1:
            body = b"".join(b"q 1 0 0 1 %d 0 cm /X Do Q\n" % i for i in range(fan_out))
            resources = b" /Resources << /XObject << /X %d 0 R >> >>" % form_number(pages, level + 1)
        else:
            body, resources = b"0 0 1 1 re f\n", b""
        forms.append(stream(body, b" /Type /XObject /Subtype /Form /BBox [0 0 595 842]" + resources))
    return forms


@functools.cache
def _scattered_glyphs(glyphs: int) -> bytes:
    shows = [b"1 0 0 1 %d %d Tm (%s) Tj" % (20 + (i % 28) * 20, 820 - (i // 28) % 800, bytes([65 + i % 26]))
             for i in range(glyphs)]
    return stream(b"BT /F1 4 Tf\n" + b"\n".join(shows) + b"\nET", compress=True)


def pdf_recursive_forms(folder: Path) -> Path:
    """A 4 KB PDF whose page draws a Form XObject that draws the next one 10 times, 9 levels deep:
    10**9 drawings, which pdfium expands in memory as it loads the page."""
    return pdf_pages(folder / "recursive-forms.pdf", [stream(b"/X0 Do\n")], _multiplying_forms(1))


def pdf_many_glyphs(folder: Path, glyphs: int = 200_000) -> Path:
    """One page showing ``glyphs`` letters scattered one by one (pdfium takes about 30 s to order them)."""
    return pdf_pages(folder / "many-glyphs.pdf", [_scattered_glyphs(glyphs)])


def pdf_flate_bomb(folder: Path, pages: int = 3, inflated_mb: int = 256) -> Path:
    """A PDF whose page content streams each inflate to ``inflated_mb`` MB of spaces (the issue's 3 MB
    file inflated to gigabytes; any size past the 32 MB page limit is the same case)."""
    compressor = zlib.compressobj(9)
    chunk = b" " * (1 << 20)
    packed = b"".join(compressor.compress(chunk) for _ in range(inflated_mb)) + compressor.flush()
    content = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed) + packed + b"\nendstream"
    return pdf_pages(folder / "flate-bomb.pdf", [content] * pages)


def pdf_partly_damaged(folder: Path) -> Path:
    """Two good pages around one that multiplies forms, one of 200,000 glyphs and one that will not load."""
    return pdf_pages(folder / "partly-damaged.pdf",
                     [good_page(b"its revenue budget"), stream(b"/X0 Do\n"), _scattered_glyphs(200_000), None,
                      good_page(b"its capital strategy")],
                     _multiplying_forms(5))


def _rewrite_docx(source: Path, target: Path, replace: dict[str, bytes]) -> Path:
    """Copy a DOCX with some members' bytes replaced."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info.filename, replace.get(info.filename, old.read(info.filename)))
    source.unlink()
    return target


def _base_docx(folder: Path) -> Path:
    return make_docx(folder / "base.docx", sections=[("1. Background", ["The Council agreed its budget."])])


def docx_truncated_xml(folder: Path) -> Path:
    """A DOCX whose word/document.xml stops half way through."""
    base = _base_docx(folder)
    with zipfile.ZipFile(base) as archive:
        xml = archive.read("word/document.xml")
    return _rewrite_docx(base, folder / "truncated-xml.docx", {"word/document.xml": xml[: len(xml) // 2]})


_W = b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def docx_billion_laughs(folder: Path) -> Path:
    """A DOCX whose document.xml declares nested entities that would expand to 10**9 copies."""
    entities = [b'<!ENTITY lol0 "lol">'] + [
        b'<!ENTITY lol%d "%s">' % (i, b"".join(b"&lol%d;" % (i - 1) for _ in range(10))) for i in range(1, 10)]
    xml = (b'<?xml version="1.0"?>\n<!DOCTYPE w:document [' + b"".join(entities) + b"]>\n"
           b"<w:document " + _W + b"><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>")
    return _rewrite_docx(_base_docx(folder), folder / "billion-laughs.docx", {"word/document.xml": xml})


def docx_many_paragraphs(folder: Path, megabytes: int = 20) -> Path:
    """A few-KB DOCX holding ``megabytes`` MB of one-letter paragraphs (about 600,000 of them)."""
    paragraph = b"<w:p><w:r><w:t>a</w:t></w:r></w:p>"
    body = paragraph * (megabytes * 1_000_000 // len(paragraph))
    xml = b'<?xml version="1.0"?>\n<w:document ' + _W + b"><w:body>" + body + b"</w:body></w:document>"
    return _rewrite_docx(_base_docx(folder), folder / "many-paragraphs.docx", {"word/document.xml": xml})


def docx_bzip2_understated(folder: Path, megabytes: int = 256) -> Path:
    """A DOCX with a bzip2 member that inflates to ``megabytes`` MB in one call while the zip's directory
    says 1 KB (the issue's inflated to 2 GiB; any size past the 200 MB limit is the same case)."""
    compressor, chunk, crc = bz2.BZ2Compressor(9), b"\0" * (1 << 20), 0
    payload = b"".join(compressor.compress(chunk) for _ in range(megabytes)) + compressor.flush()
    for _ in range(megabytes):
        crc = zlib.crc32(chunk, crc)
    return _with_member(folder / "bzip2-bomb.docx", payload, zipfile.ZIP_BZIP2, crc, stated=1024)


def docx_deflate_understated(folder: Path, megabytes: int = 400) -> Path:
    """A DOCX with a deflated member of ``megabytes`` MB whose size the zip's directory gives as 1 KB."""
    compressor, chunk, crc = zlib.compressobj(9, zlib.DEFLATED, -15), b"\0" * (1 << 20), 0
    payload = b"".join(compressor.compress(chunk) for _ in range(megabytes)) + compressor.flush()
    for _ in range(megabytes):
        crc = zlib.crc32(chunk, crc)
    return _with_member(folder / "deflate-bomb.docx", payload, zipfile.ZIP_DEFLATED, crc, stated=1024)


def _with_member(target: Path, payload: bytes, method: int, crc: int, stated: int) -> Path:
    """A small real DOCX plus word/media/image1.bin given as raw compressed bytes, its size as ``stated``."""
    base = _base_docx(target.parent)
    with zipfile.ZipFile(base) as archive:
        members = [(info.filename, archive.read(info.filename)) for info in archive.infolist()]
    base.unlink()
    out = io.BytesIO()
    central = []
    for name, data in members:
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        packed = packer.compress(data) + packer.flush()
        central.append(_entry(out, name.encode(), packed, zipfile.ZIP_DEFLATED, zlib.crc32(data), len(data)))
    central.append(_entry(out, b"word/media/image1.bin", payload, method, crc, stated))
    start = out.tell()
    out.write(b"".join(central))
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(central), len(central), out.tell() - start, start, 0))
    target.write_bytes(out.getvalue())
    return target


def _entry(out: io.BytesIO, name: bytes, packed: bytes, method: int, crc: int, size: int) -> bytes:
    """Write one local header and data; return its central directory record."""
    offset = out.tell()
    version = 46 if method == zipfile.ZIP_BZIP2 else 20
    out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", version, 0, method, 0, 0x21, crc, len(packed), size,
                          len(name), 0) + name + packed)
    return struct.pack("<4s6H3L5H2L", b"PK\x01\x02", version, version, 0, method, 0, 0x21, crc, len(packed),
                       size, len(name), 0, 0, 0, 0, 0, offset) + name


def html_nested_divs(folder: Path, depth: int = 2000) -> Path:
    """A 22 KB HTML page of ``depth`` nested <div>s around one paragraph."""
    page = ("<html><body>" + "<div>" * depth + "<p>The Council agreed its budget for the year ahead and noted"
            " the section 25 report.</p>" + "</div>" * depth + "</body></html>")
    path = folder / "nested-divs.html"
    path.write_text(page, encoding="utf-8")
    return path


def good_text(folder: Path, name: str = "report.txt", topic: str = "its revenue budget") -> Path:
    path = folder / name
    path.write_text(f"1. Decision\n\nThe Council agreed {topic} and noted the section 25 report of the Chief "
                    "Finance Officer on the robustness of the estimates.\n", encoding="utf-8")
    return path


def non_utf8_name(folder: Path) -> Path:
    """A readable text document whose file name is not valid UTF-8."""
    return good_text(folder, os.fsdecode(b"minutes-\xff\xfe-2024.txt"), "the capital programme")


def control_character_name(folder: Path) -> Path:
    """A readable text document whose name carries a terminal escape sequence and a bell."""
    return good_text(folder, "agenda-\x1b[31mRED\x1b[0m-\x07.txt", "the treasury management strategy")


def symlink_outside(folder: Path) -> Path:
    """A link inside the folder to a file outside it."""
    path = folder / "passwd.txt"
    path.symlink_to("/etc/passwd")
    return path


# Unreadable: (builder, the reason it fails with under the default limits).
HOSTILE: dict[str, tuple[Callable[[Path], Path], str]] = {
    "docx with truncated document.xml": (docx_truncated_xml, "corrupt"),
    "docx with a billion-laughs entity": (docx_billion_laughs, "corrupt"),
    "docx of 600,000 one-letter paragraphs": (docx_many_paragraphs, "too_large"),
    "docx with an understated bzip2 member": (docx_bzip2_understated, "unsupported_format"),
    "docx with an understated deflate member": (docx_deflate_understated, "corrupt"),
    "pdf of self-multiplying form xobjects": (pdf_recursive_forms, "too_large"),
    "pdf of inflating content streams": (pdf_flate_bomb, "too_large"),
    "pdf page of 200,000 glyphs": (pdf_many_glyphs, "too_large"),
}
# Odd but readable: each is stored, with what could not be read recorded.
ODD: dict[str, Callable[[Path], Path]] = {
    "html of 2,000 nested divs": html_nested_divs,
    "pdf with absurd and unloadable pages between good ones": pdf_partly_damaged,
    "file name that is not utf-8": non_utf8_name,
    "file name with terminal escape codes": control_character_name,
}


def byte_flipped_pdfs(sources: list[Path], folder: Path, copies: int = 50, seed: int = 15) -> list[Path]:
    """``copies`` corrupted copies of real PDFs, each with 1 to 400 bits flipped at seeded random places:
    some no longer open, some lose pages, most still read."""
    rng = random.Random(seed)
    out = []
    for i in range(copies):
        source = sources[i % len(sources)]
        data = bytearray(source.read_bytes())
        for _ in range(rng.randint(1, 400)):
            position = rng.randrange(len(data))
            data[position] ^= 1 << rng.randrange(8)
        path = folder / f"flipped-{i:02d}-{source.stem[:40]}.pdf"
        path.write_bytes(bytes(data))
        out.append(path)
    return out


_MEASURE = """import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss * 1024))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_measured(command: list[str], folder: Path, **popen: object) -> tuple[subprocess.Popen, Path]:
    """Start ``command`` from a small Python process that writes the command's own peak RSS (bytes) to the
    returned file when it ends. Measured from here, a child forked from a large test process would
    report the test process's size (a fork inherits its parent's peak)."""
    peak = folder / f"peak-{len(list(folder.glob('peak-*')))}"
    process = subprocess.Popen([sys.executable, "-c", _MEASURE, str(peak), *command], **popen)  # type: ignore[call-overload]
    return process, peak
