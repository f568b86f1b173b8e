"""The one exception type the device layer raises, phrased for operators."""


class DeviceError(Exception):
    """A phone-side failure with a sentence an operator can act on."""

    def __init__(self, remark: str, *, transient: bool = False):
        super().__init__(remark)
        self.remark = remark
        # Transient failures (cable pulled, UI dump flaked) are worth an automatic retry;
        # permanent ones (target missing, app not installed) would fail again the same way.
        self.transient = transient

    def __repr__(self) -> str:
        return f"DeviceError({self.remark!r}, transient={self.transient})"
