"""Recordings whose frames carry their true time, handed over through the live service and cut into clips.

Each frame shows its true-time frame number twice: as text (drawtext, for the eye and the screenshots) and as a
row of 12 white boxes, one per bit, that a test reads back from a screenshot of the browser's video element.
Frame number i is the true instant `base + i / 25 s`, whatever the recorder's clock said."""

from __future__ import annotations

import io
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from PIL import Image

from app.core import media
from tests.web.browser import LiveService

FPS = 25
BITS = 12
WIDTH, HEIGHT = 640, 360
FIRST_FRAME = 100  # the scene's frame numbers start here, so a recording started before the incident stays >= 0
FONT = Path(__file__).resolve().parents[2] / "app" / "reports" / "fonts" / "DejaVuSans-Bold.ttf"
PASSWORD = "an evidence scene password"
HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def _box_x(bit: int) -> int:
    return 16 + bit * 38


def _numbered(first_frame: int) -> str:
    """The filters that draw frame n's true frame number first_frame + n (text and bit boxes)."""
    boxes = ",".join(
        f"drawbox=x={_box_x(i)}:y=180:w=30:h=40:color=white:t=fill:enable='mod(floor((n+{first_frame})/{2**i})\\,2)'"
        for i in range(BITS)
    )
    text = f"drawtext=fontfile={FONT}:text='%{{eif\\:n+{first_frame}\\:d}}':fontsize=96:fontcolor=white:x=40:y=60"
    return f"{text},{boxes}"


def true_time_units(first_frame: int, seconds: int) -> list[tuple[bytes, bool]]:
    """The access units (Annex B, key frame?) of a numbered H.264 picture without B-frames, as a recorder sends
    them: for wrapping in a recorder's own container."""
    import av

    with tempfile.TemporaryDirectory(prefix="numbered-") as tmp:
        raw = Path(tmp) / "numbered.h264"
        media.run_ffmpeg(
            ["-f", "lavfi", "-i", f"color=c=black:s={WIDTH}x{HEIGHT}:r={FPS}:d={seconds}"]
            + ["-vf", _numbered(first_frame), "-c:v", "libx264", "-g", str(FPS), "-bf", "0", "-pix_fmt", "yuv420p"]
            + ["-x264-params", "repeat-headers=1:log-level=error", "-f", "h264", "-y", str(raw)]
        )
        with av.open(str(raw), format="h264") as container:
            return [(bytes(p), bool(p.is_keyframe)) for p in container.demux(container.streams.video[0]) if p.size]


def true_time_video(
    path: Path,
    first_frame: int,
    seconds: int = 20,
    size: str = f"{WIDTH}x{HEIGHT}",
    *,
    gop: int = FPS,
    audio: bool = False,
) -> Path:
    """An H.264 MP4 (B-frames, a key frame every `gop` frames, AAC sound if `audio`) whose frame n shows the true
    frame number first_frame + n (text and bit boxes; the boxes are read back at the default size only)."""
    media.run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            f"color=c=black:s={size}:r={FPS}:d={seconds}",
            *(["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:a", "aac"] if audio else []),
            "-vf",
            _numbered(first_frame),
            "-c:v",
            "libx264",
            "-g",
            str(gop),
            "-pix_fmt",
            "yuv420p",
            "-y",
            str(path),
        ]
    )
    return path


def frame_number(png: bytes) -> int:
    """The true frame number a screenshot of the video element shows (the element shows the whole frame)."""
    image = Image.open(io.BytesIO(png)).convert("L")
    scale_x, scale_y = image.width / WIDTH, image.height / HEIGHT
    scale = min(scale_x, scale_y)  # letterboxed: the frame is centred at one scale
    left = (image.width - WIDTH * scale) / 2
    top = (image.height - HEIGHT * scale) / 2

    def lit(bit: int) -> bool:
        x = left + (_box_x(bit) + 15) * scale
        y = top + 200 * scale
        return bool(image.getpixel((int(x), int(y))) > 128)

    return sum(1 << bit for bit in range(BITS) if lit(bit))


@dataclass
class CameraClip:
    label: str
    camera_id: str
    request_id: str
    true_start: datetime  # the recording's first frame, true time
    clock_offset_s: float
    clip: dict[str, Any] = field(default_factory=dict)


@dataclass
class Scene:
    case_id: str
    case_number: str
    investigator_email: str
    investigator: dict[str, str]
    base: datetime  # true instant of frame number 0
    window: tuple[datetime, datetime]
    cameras: list[CameraClip]

    def frame_at(self, instant: datetime) -> float:
        return (instant - self.base).total_seconds() * FPS


def scene(
    service: LiveService,
    workdir: Path,
    cameras: list[tuple[str, float, float, int, float]],
    *,
    seconds: int = 20,
    window_s: tuple[int, int] = (5, 12),
    video: Any = None,
    stamped: bool = False,
) -> Scene:
    """One case, one camera per entry (label, lat, lon, true start in whole seconds after the incident, recorder
    clock offset in s), each handing over a recording of `seconds` through its owner link, asked for `window_s`
    after the incident; waits for the clips. `video(path, first_frame, seconds)` makes the recordings (with
    `stamped`, `video(path, first_frame, seconds, recorder_clock)`, for a recorder's file that carries its clock)."""
    tag = uuid.uuid4().hex[:6]
    admin = service.admin_headers
    unit = service.post("/api/v1/units", admin, {"name": "Công an phường Bến Thành", "code": f"EV-{tag}"})
    email = f"investigator-{tag}@example.org"
    service.post(
        "/api/v1/users",
        admin,
        {"email": email, "password": PASSWORD, "full_name": "Lê Văn Điều Tra", "role": "investigator"}
        | {"unit_id": unit["id"]},
    )
    investigator = service.token(email, PASSWORD)
    incident = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    window = (incident + timedelta(seconds=window_s[0]), incident + timedelta(seconds=window_s[1]))
    number = f"VV-{tag}"
    case = service.post(
        "/api/v1/cases",
        investigator,
        {
            "number": number,
            "title": "Cướp giật điện thoại",
            "offence": "robbery",
            "incident_lat": cameras[0][1],
            "incident_lon": cameras[0][2],
            "incident_start": incident.isoformat(),
            "incident_end": (incident + timedelta(minutes=1)).isoformat(),
        },
    )
    made: list[CameraClip] = []
    for index, (label, lat, lon, start_s, offset_s) in enumerate(cameras):
        owner = service.post("/api/v1/owners", admin, {"name": f"Cửa hàng số {index + 1}", "kind": "business"})
        service.post(
            f"/api/v1/owners/{owner['id']}/consents",
            admin,
            {
                "scope": "auto_approve",
                "valid_from": (datetime.now(UTC) - timedelta(days=30)).isoformat(),
                "terms_version": "2026-01",
                "legal_basis": "Thoả thuận Camera với ANTT",
            },
        )
        camera = service.post(
            "/api/v1/cameras",
            admin,
            {"owner_id": owner["id"], "label": label, "lat": lat, "lon": lon, "retention_days": 14},
        )
        request = service.post(
            f"/api/v1/cases/{case['id']}/requests",
            investigator,
            {
                "camera_id": camera["id"],
                "window_start": window[0].isoformat(),
                "window_end": window[1].isoformat(),
                "purpose": "Nhận dạng đối tượng",
                "legal_basis": "Điều 88 BLTTHS",
            },
        )
        assert request["status"] == "approved", request
        link = service.post(f"/api/v1/requests/{request['id']}/links", investigator, {})
        token = link["url"].rsplit("/", 1)[1]
        true_start = incident + timedelta(seconds=start_s)
        recorder_clock = (true_start + timedelta(seconds=offset_s)).astimezone(HCM).replace(tzinfo=None)
        first = FIRST_FRAME + start_s * FPS
        if stamped:
            path = video(workdir / f"cam{index}.mp4", first, seconds, recorder_clock)
        else:
            path = (video or true_time_video)(workdir / f"cam{index}.mp4", first, seconds)
        with service.api() as http:
            sent = http.put(
                f"/api/v1/respond/{token}/original",
                content=path.read_bytes(),
                headers={
                    "X-Filename": path.name,
                    "X-Recording-Start": recorder_clock.isoformat(),
                    "X-Clock-Offset-Seconds": str(offset_s),
                },
            )
        assert sent.status_code == 201, sent.text
        made.append(CameraClip(label, camera["id"], request["id"], true_start, offset_s))
    deadline = time.monotonic() + 120
    with service.api() as http:
        for camera_clip in made:
            while True:
                detail = http.get(f"/api/v1/requests/{camera_clip.request_id}", headers=investigator).json()
                if detail["clips"]:
                    camera_clip.clip = detail["clips"][0]
                    break
                assert time.monotonic() < deadline, f"no clip for {camera_clip.label}: {detail['status']}"
                time.sleep(0.5)
    return Scene(
        case_id=case["id"],
        case_number=number,
        investigator_email=email,
        investigator=investigator,
        base=incident - timedelta(seconds=FIRST_FRAME / FPS),
        window=window,
        cameras=made,
    )


def sign_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def custody_actions(service: LiveService, headers: dict[str, str], object_id: str) -> list[str]:
    with httpx.Client(base_url=service.base, timeout=30) as http:
        events = http.get("/api/v1/custody", params={"object_id": object_id, "limit": 500}, headers=headers).json()
    return [e["action"] for e in events["items"]]
