from app.kernel.errors import ConflictError


class NoPointsToConvertError(ConflictError):
    """A trigger fired for points that are not (or no longer) held: converted already, returned,
    expired, or never earned into the TRIGGER_BASED account. Nothing was written."""

    code = "NO_POINTS_TO_CONVERT"
