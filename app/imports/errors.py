"""Typed failures of an import: the file as a whole (the job fails with the code), or a submission."""

from __future__ import annotations

from app.kernel.errors import ConflictError, NotFoundError, ValidationError


class ImportFileError(ValidationError):
    """The file cannot be imported at all; `code` says why (the job fails with it, nothing is imported).

    Codes: EMPTY_FILE, NO_ROWS, INVALID_ENCODING, MISSING_COLUMN, UNKNOWN_COLUMN, DUPLICATE_COLUMN,
    CONFLICTING_COLUMNS, LINE_TOO_LONG, MALFORMED_CSV, FILE_TOO_LARGE, FILE_MISSING, ROWS_REJECTED.
    """

    def __init__(self, code: str, message: str, *, field: str | None = "file") -> None:
        super().__init__(message, field=field)
        self.code = code


class FileTooLargeError(ImportFileError):
    def __init__(self, limit_bytes: int, *, field: str | None = "file") -> None:
        super().__init__(
            "FILE_TOO_LARGE", f"the file is larger than the import size limit of {limit_bytes:,} bytes", field=field
        )
        self.limit_bytes = limit_bytes


class ImportJobNotFoundError(NotFoundError):
    code = "IMPORT_JOB_NOT_FOUND"


class ImportTemplateNotFoundError(NotFoundError):
    code = "IMPORT_TEMPLATE_NOT_FOUND"


class ImportTemplateProfileError(ConflictError):
    code = "TEMPLATE_PROFILE_MISMATCH"


class ImportInterruptedError(Exception):
    """Raised by a test hook (or a shutdown) between batches: the job stays RUNNING, resumable."""
