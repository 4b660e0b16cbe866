"""Text from an uploaded report: .txt, .pdf, .docx, or a photo or scan of a paper report.

A PDF is read from its text layer; a PDF without one (a scan) and a photo
(.jpg, .png, .heic, .webp) are read by offline OCR (:mod:`spinecontext.ocr`),
and the result says so: the patient page then shows the recognised text for
checking before anything is explained. Everything happens in memory; nothing
is written to disk. The type is decided
from the file's own bytes (its signature), checked against the name's
extension, so a renamed file cannot slip through. Each problem is an
:class:`ApiError` naming it: 413 too large, 415 a type we do not read, 422 a
file of a known type that cannot be read.
"""

from __future__ import annotations

import io
import zipfile
from typing import Optional

from .errors import ApiError
from .settings import Settings

SUPPORTED = ".txt, .pdf, .docx, or a photo (.jpg, .png, .heic)"
IMAGE_EXTENSIONS = ("jpg", "jpeg", "jpe", "png", "heic", "heif", "webp")
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")


def is_image(data: bytes) -> bool:
    """JPEG, PNG, WebP or HEIC/HEIF, by the file's own bytes."""
    return (data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"))
            or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")
            or (data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS))


def sniff(data: bytes, filename: str) -> str:
    """'pdf', 'docx', 'image' or 'txt'; raises 415 for anything else."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if is_image(data):
        if ext not in IMAGE_EXTENSIONS + ("",):
            raise ApiError(415, "unsupported_file_type",
                           f"The file's name ends .{ext[:20]} but it holds an image; upload {SUPPORTED}.")
        return "image"
    if data.startswith(b"%PDF-"):
        kind = "pdf"
    elif data.startswith(b"PK\x03\x04"):
        kind = "docx" if ext in ("docx", "") else "zip"
    elif data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ApiError(415, "unsupported_file_type", f"Old Word (.doc) files are not supported; upload {SUPPORTED}.")
    elif data.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"II*\x00", b"MM\x00*")):
        raise ApiError(415, "unsupported_file_type",
                       f"This kind of image (GIF, TIFF) is not read; take or save the photo as .jpg or .png, or upload {SUPPORTED}.")
    else:
        kind = "txt"
    if kind == "zip":
        raise ApiError(415, "unsupported_file_type", f"A .{ext or 'zip'} archive is not supported; upload {SUPPORTED}.")
    if kind == "txt" and ext not in ("txt", "text", "report", ""):
        raise ApiError(415, "unsupported_file_type", f"Files ending .{ext[:20]} are not supported; upload {SUPPORTED}.")
    if kind != "txt" and ext not in (kind, ""):
        raise ApiError(415, "unsupported_file_type",
                       f"The file's name ends .{ext[:20]} but it holds a {kind.upper()}; upload {SUPPORTED}.")
    return kind


def _txt(data: bytes) -> str:
    from ..io import decode

    text, err = decode(data)
    if err:
        code = "binary_file" if "binary" in err else "not_utf8"
        raise ApiError(415 if code == "binary_file" else 422, code, f"The .txt file is {err}.")
    return text


def _opens_without_password(reader) -> bool:
    try:
        return bool(reader.decrypt(""))
    except Exception:  # noqa: BLE001 - unsupported algorithm (e.g. AES without cryptography)
        return False


def _pdf(data: bytes, settings: Settings) -> tuple[str, bool]:
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings can quote document content
    try:
        reader = PdfReader(io.BytesIO(data))
        # many clinic PDFs are encrypted with an empty user password (print/copy restrictions only)
        if reader.is_encrypted and not _opens_without_password(reader):
            raise ApiError(422, "pdf_encrypted", "The PDF is password-protected; upload an unprotected copy.")
        if len(reader.pages) > settings.max_pdf_pages:
            raise ApiError(413, "pdf_too_long", f"The PDF has {len(reader.pages)} pages; the limit is {settings.max_pdf_pages}.")
        pages = [page.extract_text() or "" for page in reader.pages]
    except ApiError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError, OSError):
        raise ApiError(422, "pdf_unreadable", "The PDF could not be read (damaged or not a PDF).") from None
    text = "\n".join(p.rstrip() for p in pages).strip("\n")
    if text.strip():
        return text, False
    # no text layer: a scan; read its page images with OCR
    from ..ocr import OcrError, read_pdf_scan

    try:
        text = read_pdf_scan(data, max_pages=settings.max_ocr_pages)
    except OcrError as exc:
        raise ApiError(422, "pdf_no_text", f"The PDF has no text layer, and OCR could not read it: {exc}") from None
    if not text.strip():
        raise ApiError(422, "pdf_no_text", "The PDF has no text layer, and no text could be read from its pages; "
                                           "paste the report text instead.")
    return text, True


def _image(data: bytes) -> str:
    from ..ocr import OcrError, read_image_bytes

    try:
        text = read_image_bytes(data)
    except OcrError as exc:
        raise ApiError(422, "image_unreadable", str(exc)) from None
    if not text.strip():
        raise ApiError(422, "no_text_found", "No text could be read from the photo. Try a sharper photo, taken "
                                             "straight on in good light, or type the report in.")
    return text


def _docx(data: bytes, settings: Settings) -> str:
    from docx import Document

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            unpacked = sum(i.file_size for i in zf.infolist())
            if unpacked > settings.max_docx_unpacked_bytes:
                raise ApiError(413, "docx_too_large", f"The .docx unpacks to {unpacked:,} bytes; the limit is {settings.max_docx_unpacked_bytes:,}.")
            if "word/document.xml" not in zf.namelist():
                raise ApiError(422, "docx_unreadable", "The file is a zip archive but not a Word .docx document.")
        doc = Document(io.BytesIO(data))
    except ApiError:
        raise
    except Exception:  # noqa: BLE001 - python-docx raises many types for damaged files
        raise ApiError(422, "docx_unreadable", "The .docx file could not be read (damaged or not a Word document).") from None
    lines = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            cells = []
            for cell in row.cells:
                if not cells or cell.text != cells[-1]:  # merged cells repeat
                    cells.append(cell.text)
            lines.append("  ".join(cells))
    text = "\n".join(lines).strip("\n")
    if not text.strip():
        raise ApiError(422, "docx_no_text", "The .docx file has no text.")
    return text


def extract_text(data: bytes, filename: Optional[str], settings: Settings) -> str:
    """The report text of an uploaded file (see :func:`read_upload`)."""
    return read_upload(data, filename, settings)[0]


def read_upload(data: bytes, filename: Optional[str], settings: Settings) -> tuple[str, bool]:
    """(text, read_by_ocr) of an uploaded file; raises :class:`ApiError` naming the problem."""
    if len(data) > settings.max_file_bytes:
        raise ApiError(413, "file_too_large", f"The file is {len(data):,} bytes; the limit is {settings.max_file_bytes:,}.")
    if not data:
        raise ApiError(422, "empty_file", "The file is empty.")
    kind = sniff(data, filename or "")
    if kind == "pdf":
        return _pdf(data, settings)
    if kind == "image":
        return _image(data), True
    if kind == "docx":
        return _docx(data, settings), False
    return _txt(data), False
