"""One settings object, read once from the environment and `.env`.

No other module reads `os.environ`; the embedded default fills in the database and S3 settings it
starts through :func:`override_settings`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, StringConstraints, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")
    _base_url_derived: bool = PrivateAttr(False)

    # Service
    host: str = Field("127.0.0.1", description="Address the HTTP server binds to.")
    port: int = Field(8000, description="Port the HTTP server listens on.")
    public_base_url: str = Field(
        "",
        description="Base URL used in links sent to owners (emails, webhooks); unset: http://HOST:PORT "
        "(127.0.0.1 when HOST is a wildcard address).",
    )
    log_level: str = Field("info", description="Log level of the service.")
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed by CORS (JSON list); empty keeps CORS off."
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description=(
            'Addresses or networks (JSON list, e.g. ["10.0.0.5", "10.1.0.0/16"]) of the reverse proxies whose '
            "X-Forwarded-For is believed; empty believes none, so no client can choose the address that sign-in "
            "limits, security events and custody record."
        ),
    )
    max_request_body_bytes: int = Field(
        25 * 1024 * 1024, gt=0, description="Cap on request bodies other than evidence uploads (camera imports)."
    )

    # Database (PostgreSQL only). Empty: the embedded PostgreSQL under data_dir is started.
    database_url: str | None = Field(None, description="SQLAlchemy URL, e.g. postgresql+psycopg://u:p@h/db.")
    database_connect_timeout_seconds: float = Field(
        5, gt=0, description="Longest wait for a new database connection (each pool) before answering 503."
    )
    database_statement_timeout_seconds: float = Field(
        30,
        ge=0,
        description="Longest a statement may run (PostgreSQL's statement_timeout on each pool's connections), and "
        "how long the service waits for a database that does not answer at all (frozen) before answering 503; "
        "0: no limit.",
    )
    read_pool_size: int = Field(
        10, ge=1, le=200, description="Connections of the asyncio pool serving the hot read paths (app/core/reads.py)."
    )

    # Object storage (any S3 server with Object Lock). Empty endpoint: the embedded SeaweedFS is started.
    s3_endpoint: str | None = Field(None, description="S3 endpoint as host:port.")
    s3_access_key: str | None = Field(None, description="S3 access key.")
    s3_secret_key: str | None = Field(None, description="S3 secret key.")
    s3_bucket: str = Field("evidence", description="Evidence bucket; must have Object Lock enabled.")
    s3_secure: bool = Field(False, description="Use HTTPS to reach the S3 endpoint.")
    s3_region: str | None = Field(None, description="S3 region, if the server needs one.")
    s3_create_bucket: bool = Field(
        True, description="Create the evidence bucket (with Object Lock) when it does not exist."
    )

    # Evidence retention
    retention_mode: Literal["COMPLIANCE", "GOVERNANCE"] = Field(
        "COMPLIANCE", description="Object Lock mode applied to originals and clips."
    )
    retention_days: int = Field(1825, gt=0, description="Default retention period of evidence objects.")
    idempotency_key_hours: int = Field(24, gt=0, description="How long an Idempotency-Key is remembered.")
    clip_source: Literal["presigned_url", "download"] = Field(
        "presigned_url",
        description="How the clip job reads an MP4/Matroska original: ffmpeg over a presigned URL with range "
        "requests, or a full download first (for S3 servers without range support).",
    )
    max_upload_bytes: int = Field(20 * 1024**3, gt=0, description="Largest recorder export accepted (413 past it).")
    upload_claim_seconds: int = Field(
        120,
        ge=10,
        le=86400,
        description="An upload holds its request while it streams, renewing the claim every third of this; a "
        "claim not renewed this long (its process died) is stale and the next upload takes it over.",
    )
    upload_expiry_hours: int = Field(
        24, gt=0, description="A resumable upload left without a request this long is discarded with its parts."
    )

    # Community appeals: what one resident may send, and how much one appeal takes in.
    appeal_max_upload_bytes: int = Field(
        500 * 1024**2, gt=0, description="Largest video or photo a resident may send to an appeal (413 past it)."
    )
    appeal_max_submissions: int = Field(
        500, gt=0, description="Most submissions one appeal takes in (429 past it, in plain words)."
    )
    appeal_max_per_address: int = Field(
        5, gt=0, description="Most submissions to one appeal from one client address in 24 hours (429 past it)."
    )
    appeal_quarantine_days: float = Field(
        30, gt=0, description="Object Lock period of a submission while quarantined, and of a declined one."
    )

    redaction_stuck_minutes: float = Field(
        30, gt=0, description="A redaction's detection or render silent this long lost its job and is queued again."
    )
    redaction_max_requeues: int = Field(
        3, ge=0, description="How many times a redaction's lost step is queued again before the redaction fails."
    )

    download_link_minutes: int = Field(15, gt=0, description="Default lifetime of a download link.")
    download_link_max_minutes: int = Field(60, gt=0, description="Longest lifetime a download link may ask for.")

    map_tile_url: str = Field(
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        description="Map tile URL template for the case map; empty shows markers on a blank map (offline stations).",
    )
    map_tile_attribution: str = Field(
        "© OpenStreetMap contributors",
        description="Attribution the tile provider requires, shown in the map's corner (text only).",
    )

    # Media tools
    ffmpeg_path: str | None = Field(None, description="ffmpeg binary; empty uses the one imageio-ffmpeg ships.")

    # Custody signing key (kept outside the database)
    signing_key_path: Path | None = Field(
        None, description="Ed25519 private key (PEM); default data_dir/keys/custody-ed25519.pem."
    )

    # Standard checkpoints and witnesses (docs/CUSTODY.md)
    custody_origin: str = Field(
        "footage-tracker.example/custody",
        min_length=1,
        max_length=200,
        pattern=r"^[^\s+—]+$",
        description="Origin line of the C2SP checkpoint notes and name of the log's note key; set it to a name "
        "unique to this deployment (for example camera.congan.example.vn/custody) and never change it.",
    )
    custody_witness_keys: list[
        Annotated[str, StringConstraints(pattern=r"^[^+\s]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$")]
    ] = Field(
        default_factory=list,
        description="Witnesses whose cosignatures are accepted (JSON list of C2SP vkeys, NAME+KEYID+BASE64, "
        "signature type 0x04).",
    )

    tsa_url: str | None = Field(
        None,
        description="RFC 3161 Time-Stamp Authority that time-stamps each scheduled custody checkpoint; empty: none.",
    )
    tsa_timeout_seconds: float = Field(15, gt=0, description="Longest wait for the Time-Stamp Authority.")

    # Identity and access
    token_secret: str | None = Field(
        None, description="HS256 secret for access tokens; default: generated once into data_dir/keys/token-secret."
    )
    token_ttl_minutes: int = Field(15, gt=0, le=24 * 60, description="Lifetime of an access token.")
    web_session_hours: int = Field(8, gt=0, le=24, description="Lifetime of a signed-in web page session.")
    max_request_window_hours: int = Field(24, gt=0, description="Longest window one extraction request may ask for.")
    deadline_reminder_hours: list[int] = Field(
        default_factory=lambda: [48, 12],
        description="Remind owners this many hours before the overwrite deadline (JSON list).",
    )
    link_reminder_hours: int = Field(24, gt=0, description="Remind owners this many hours before their link expires.")
    owner_link_ttl_days: int = Field(10, gt=0, le=90, description="Default lifetime of a one-time owner link.")
    # The camera programme's current terms: recorded with every consent an owner gives on the pages, and shown
    # to them to read (an owner never types a version or a legal basis).
    programme_terms_version: str = Field("CAMERA-ANTT-2026-01", min_length=1, max_length=50)
    programme_terms_text: str = Field(
        "Chương trình Camera với an ninh trật tự. Khi Quý vị đồng ý, công an có thể đề nghị trích xuất hình ảnh từ "
        "camera của Quý vị để phục vụ điều tra, xác minh vụ việc. Mỗi lần đề nghị đều ghi rõ camera, khoảng thời "
        "gian, vụ việc và đơn vị đề nghị; Quý vị có thể đồng ý, đồng ý một phần hoặc từ chối (trừ khi Quý vị chọn "
        "tự động đồng ý). Dữ liệu Quý vị cung cấp chỉ được dùng cho vụ việc đó, được niêm phong và mọi lần truy cập "
        "đều được ghi lại để Quý vị xem. Quý vị có thể rút lại sự đồng ý bất cứ lúc nào; việc rút lại không ảnh "
        "hưởng đến dữ liệu đã cung cấp trước đó.",
        min_length=1,
        description="The programme's terms as owners read them before consenting.",
    )
    programme_legal_basis: str = Field(
        "Sự đồng ý của chủ camera theo Nghị định 13/2023/NĐ-CP; Điều 88 Bộ luật Tố tụng hình sự 2015",
        min_length=3,
        max_length=500,
        description="The legal basis recorded with a consent given under the programme's terms.",
    )
    login_max_failures: int = Field(
        5,
        gt=0,
        description="Failed sign-ins an account is allowed before each further try waits (1 s, doubling); also the "
        "failures one client address is allowed in the window.",
    )
    login_window_minutes: int = Field(15, gt=0, description="Window of a client address's failed sign-ins.")
    login_backoff_max_seconds: int = Field(
        900, gt=0, description="Longest wait an account's failed sign-ins impose before the next try."
    )
    rate_limit_per_minute: int = Field(
        60, gt=0, description="Requests one client address may make per minute to each anonymous endpoint group."
    )
    totp_required_roles: list[str] = Field(
        ["admin", "auditor"],
        description="Roles that must sign in with a TOTP code as well as the password (JSON list); investigators "
        "and supervisors also must when their unit says so.",
    )
    admin_totp_secret: str | None = Field(
        None,
        description="Base32 TOTP secret the first admin's authenticator starts with; unset, the first admin enrols "
        "(QR code) at the first sign-in on the pages.",
    )
    admin_email: str = Field("admin@example.org", description="First admin created on an empty database.")
    admin_password: str | None = Field(
        None, description="Password of the first admin; generated and printed once when unset."
    )

    # Notifications (outbox delivered by the worker)
    smtp_host: str = Field("127.0.0.1", description="SMTP server for notification emails.")
    smtp_port: int = Field(25, gt=0, lt=65536, description="SMTP port.")
    smtp_from: str = Field("no-reply@footage-tracker.example", description="Sender address of notification emails.")
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_user: str | None = Field(None, description="SMTP user name, when the server needs authentication.")
    smtp_password: str | None = Field(None, description="SMTP password.")
    smtp_timeout_seconds: float = Field(15, gt=0, description="Timeout of one SMTP conversation.")
    webhook_secret: str | None = Field(
        None,
        description="HMAC-SHA256 key signing webhook bodies and the bridge's delivery reports (X-Signature: "
        "t=<unix>,v1=<hmac>); webhooks are never sent and reports never accepted without it.",
    )
    notification_webhook_url: str | None = Field(
        None, description="Where owner messages are also POSTed (signed), for a Zalo or SMS bridge; empty: email only."
    )
    webhook_signature_window_seconds: int = Field(
        300, gt=0, le=3600, description="How far a signed delivery report's timestamp may be from now (replays)."
    )
    webhook_timeout_seconds: float = Field(10, gt=0, description="Timeout of one webhook POST.")
    notification_max_attempts: int = Field(6, gt=0, description="Attempts before a notification is marked failed.")
    notification_backoff_seconds: float = Field(
        60, gt=0, description="Delay before the first retry; doubled after each further failure."
    )
    notification_backoff_max_seconds: float = Field(6 * 3600, gt=0, description="Cap on the delay between retries.")
    notification_default_locale: Literal["vi", "en"] = Field("vi", description="Locale of messages by default.")

    # Embedded default data
    data_dir: Path = Field(PROJECT_ROOT / "storage" / "data", description="Embedded PostgreSQL/S3 data.")

    @model_validator(mode="after")
    def _derive_public_base_url(self) -> Settings:
        self._base_url_derived = not self.public_base_url
        if self._base_url_derived:
            self.public_base_url = derived_base_url(self.host, self.port)
        return self

    @property
    def effective_signing_key_path(self) -> Path:
        return self.signing_key_path or self.data_dir / "keys" / "custody-ed25519.pem"


def derived_base_url(host: str, port: int) -> str:
    """http://HOST:PORT, with a loopback address for a wildcard bind (links need an address one can open)."""
    shown = "127.0.0.1" if host in {"", "0.0.0.0", "::", "[::]"} else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


_current: Settings | None = None


def get_settings() -> Settings:
    """The settings in force, read from the environment on first use."""
    global _current
    if _current is None:
        _current = Settings()
    return _current


def child_environment(settings: Settings) -> dict[str, str]:
    """The environment of a child `footage` process that must see the same database as this one (the embedded
    default's URL is only known here once it has started)."""
    import os

    env = dict(os.environ)
    if settings.database_url:
        env["DATABASE_URL"] = settings.database_url
    return env


def override_settings(**values: Any) -> Settings:
    """Replace the settings in force with a copy carrying `values` (the embedded default and tests use it)."""
    global _current
    current = get_settings()
    if current._base_url_derived and "public_base_url" not in values and {"host", "port"} & values.keys():
        # An unset PUBLIC_BASE_URL keeps following the address served (`footage serve --port`).
        host, port = values.get("host", current.host), values.get("port", current.port)
        values = {**values, "public_base_url": derived_base_url(host, port)}
        _current = current.model_copy(update=values)
    else:
        _current = current.model_copy(update=values)
        _current._base_url_derived = current._base_url_derived and "public_base_url" not in values
    return _current
