"""The exceptions the device layer raises: each class says whether a retry could help, each remark is for operators."""


class DeviceError(Exception):
    """A phone-side failure with a sentence an operator can act on.

    Subclasses decide `transient`: True where an automatic retry may succeed (cable pulled, UI dump
    flaked), False where it would fail the same way (target missing, app not installed).
    Every class takes the remark as its only argument, so pickling (Prefect keeps failed states) rebuilds it.
    """

    transient = False

    def __init__(self, remark: str):
        super().__init__(remark)
        self.remark = remark

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.remark!r})"


# ---------------------------------------------------------------- transient

class AdbServerUnreachable(DeviceError):
    transient = True


class PhoneDisconnected(DeviceError):
    """The phone is not connected, or its connection broke during the work."""

    transient = True


class ScreenUnreadable(DeviceError):
    """uiautomator gave no usable dump; screens that never idle do this now and then."""

    transient = True


# ---------------------------------------------------------------- permanent

class InvalidScriptConfig(DeviceError):
    """The task asks for something no phone can do: unknown script, platform or option, no target."""


class AppNotInstalled(DeviceError):
    pass


class AccountNotLoggedIn(DeviceError):
    """The account asked for is not among the app's logged-in accounts."""


class LoggedOut(DeviceError):
    """The app shows its login screen: the account's session expired."""


class TargetNotFound(DeviceError):
    pass


class UiNotRecognised(DeviceError):
    """The screen was read but never showed what the script waits for (an app update may have moved it)."""


class ScriptFailed(DeviceError):
    """The app did not do what the script asked (upload stuck, button did not change, intent refused)."""


# ---------------------------------------------------------------- the account, not the phone

class AccountBlocked(DeviceError):
    """The app put the account behind a screen no script may pass: the farm marks the account (`mark`)
    and gives it no task until an operator clears the mark (or, for a rate limit, until it expires)."""

    mark = "needs_attention"


class AccountBanned(AccountBlocked):
    """The app says the account is banned, disabled or suspended."""

    mark = "banned"


class AccountNeedsAttention(AccountBlocked):
    """The app asks a person for something: a captcha, "verify it's you", a login challenge."""

    mark = "needs_attention"


class AccountRateLimited(AccountBlocked):
    """The app says the account acts too fast ("Try again later", "You're tapping too fast")."""

    mark = "rate_limited"
