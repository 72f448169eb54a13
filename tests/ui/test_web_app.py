"""The web app's page, driven by NiceGUI's simulated user against a real HTTP API.

The API is `fake_api.py` (the prediction API's contract, served on 127.0.0.1) or a port where
nothing listens. The last tests run the app as deployed (`scripts/web_app.sh`) and drive it in
a real headless Chromium with a real dandelion photo.
"""

from __future__ import annotations

import csv
import io
import subprocess
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_script
from fake_api import FAKE_API_KEY, FakeApiServer
from http_kit import free_port
from nicegui import ui
from nicegui.testing import User
from PIL import Image
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from web_fixtures import (  # noqa: F401 (the *_fixture names are pytest fixtures, used by name)
    OpenUser,
    chromium_fixture,
    fake_api_fixture,
    open_user_fixture,
    user_fixture,
    web_app_env_fixture,
    web_config,
)

from greenr.settings import REPO_ROOT, load_settings

WEB_APP_SCRIPT = REPO_ROOT / "scripts" / "web_app.sh"
# Enough for an HTTP round trip to the fake API on a busy 2-core machine.
RETRIES = 50


def jpeg(color: tuple[int, int, int], seed: int = 0, size: tuple[int, int] = (96, 72)) -> bytes:
    """A noisy photo of one colour: yellow-ish reads as dandelion to the fake API, green as grass."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(-20, 21, size=(size[1], size[0], 3))
    pixels = np.clip(np.array(color) + noise, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


YELLOW = (220, 200, 40)
GREEN = (60, 150, 50)
BLUE = (40, 60, 210)  # the fake API answers "neither" for it (open-set rejection)


def upload_element(user: User, marker: str) -> ui.upload:
    """The page's upload element with this marker."""
    elements = user.find(marker=marker).elements
    assert len(elements) == 1
    element = elements.pop()
    assert isinstance(element, ui.upload)
    return element


async def upload(user: User, marker: str, *files: tuple[str, bytes]) -> None:
    """Hand files to an upload element, as the browser does when they are dropped on it."""
    uploads = [
        ui.upload.SmallFileUpload(name=name, content_type="image/jpeg", _data=data) for name, data in files
    ]
    await upload_element(user, marker).handle_uploads(list(uploads))


def table(user: User, marker: str) -> ui.table:
    """The page's table with this marker."""
    element = user.find(marker=marker).elements.pop()
    assert isinstance(element, ui.table)
    return element


# ---------------------------------------------------------------- header


@pytest.mark.asyncio
async def test_header_shows_model_version_and_api_status(user: User) -> None:
    await user.should_see("Model: greenr-classifier v7 (champion)", retries=RETRIES)
    await user.should_see("API ready")
    await user.should_not_see(marker="api-banner")


@pytest.mark.asyncio
async def test_the_model_card_opens_from_the_header(user: User, fake_api: FakeApiServer) -> None:
    await user.should_see("Model: greenr-classifier v7 (champion)", retries=RETRIES)
    user.find(marker="model-card-button").click()
    await user.should_see("Model card: greenr-classifier version 7", retries=RETRIES)
    await user.should_see("Intended use")


@pytest.mark.asyncio
async def test_a_version_without_a_card_says_so(user: User, fake_api: FakeApiServer) -> None:
    fake_api.state.model_card = None
    await user.should_see("Model: greenr-classifier v7 (champion)", retries=RETRIES)
    user.find(marker="model-card-button").click()
    await user.should_see("The model card cannot be shown.", retries=RETRIES)
    await user.should_see("published without a model card")


# ---------------------------------------------------------------- one photo


@pytest.mark.asyncio
async def test_one_photo_shows_its_class_and_a_probability_bar_per_class(user: User) -> None:
    await upload(user, "single-upload", ("flower.jpg", jpeg(YELLOW)))

    await user.should_see(marker="predicted-label", retries=RETRIES)
    label = user.find(marker="predicted-label").elements.pop()
    assert isinstance(label, ui.label)
    assert label.text == "dandelion"
    await user.should_see("flower.jpg")
    await user.should_see("Confidence")
    with user.scope(marker="probabilities"):
        bars = user.find(ui.linear_progress).elements
        await user.should_see("dandelion")
        await user.should_see("grass")
    assert len(bars) == 2
    assert sum(bar.value for bar in bars) == pytest.approx(1.0)
    # The photo itself is shown, as a small preview.
    images = user.find(ui.image).elements
    assert len(images) == 1
    assert images.pop().source.startswith("data:image/jpeg;base64,")


@pytest.mark.asyncio
async def test_feedback_with_the_predicted_class_says_right(user: User, fake_api: FakeApiServer) -> None:
    await upload(user, "single-upload", ("lawn.jpg", jpeg(GREEN)))
    await user.should_see(marker="feedback-grass", retries=RETRIES)

    user.find(marker="feedback-grass").click()

    await user.should_see("Thanks: recorded as grass (the model was right).", retries=RETRIES)
    prediction_id = fake_api.state.predictions[0]["id"]
    assert [(f["prediction_id"], f["label"]) for f in fake_api.state.feedback] == [(prediction_id, "grass")]


@pytest.mark.asyncio
async def test_feedback_with_the_other_class_says_wrong(user: User, fake_api: FakeApiServer) -> None:
    await upload(user, "single-upload", ("lawn.jpg", jpeg(GREEN)))
    await user.should_see(marker="feedback-dandelion", retries=RETRIES)

    user.find(marker="feedback-dandelion").click()

    await user.should_see("Thanks: recorded as dandelion (the model was wrong).", retries=RETRIES)
    assert fake_api.state.feedback[0]["label"] == "dandelion"
    assert fake_api.state.predictions[0]["feedback_label"] == "dandelion"


@pytest.mark.asyncio
async def test_feedback_neither_on_a_class_answer(user: User, fake_api: FakeApiServer) -> None:
    await upload(user, "single-upload", ("lawn.jpg", jpeg(GREEN)))
    await user.should_see(marker="feedback-neither", retries=RETRIES)

    user.find(marker="feedback-neither").click()

    await user.should_see("Thanks: recorded as neither (the model was wrong).", retries=RETRIES)
    assert fake_api.state.feedback[0]["label"] == "neither"


@pytest.mark.asyncio
async def test_a_neither_answer_is_explained_with_its_probabilities(
    user: User, fake_api: FakeApiServer
) -> None:
    await upload(user, "single-upload", ("sky.jpg", jpeg(BLUE)))

    await user.should_see(marker="neither-title", retries=RETRIES)
    await user.should_see("This doesn't look like a dandelion or grass")
    label = user.find(marker="predicted-label").elements.pop()
    assert isinstance(label, ui.label)
    assert label.text == "neither"
    reason = user.find(marker="neither-reason").elements.pop()
    assert isinstance(reason, ui.label)
    # The API's sentence without the title the page already shows above it.
    assert fake_api.state.predictions[0]["reason"].endswith(reason.text[1:])
    assert reason.text.startswith("Its open-set score ")
    assert "doesn't look like" not in reason.text
    with user.scope(marker="probabilities"):
        bars = user.find(ui.linear_progress).elements
    assert len(bars) == 2
    assert sum(bar.value for bar in bars) == pytest.approx(1.0)

    user.find(marker="feedback-neither").click()

    await user.should_see("Thanks: recorded as neither (the model was right).", retries=RETRIES)


@pytest.mark.asyncio
async def test_a_file_that_is_not_an_image_shows_the_apis_message(user: User) -> None:
    await upload(user, "single-upload", ("notes.jpg", b"shopping list"))

    await user.should_see("notes.jpg is not an image this model can read.", retries=RETRIES)
    await user.should_not_see(marker="feedback-grass")


@pytest.mark.asyncio
async def test_the_explanation_toggle_shows_the_apis_refusal(user: User, fake_api: FakeApiServer) -> None:
    fake_api.state.explanation_error = (
        409,
        "no_explainable_model",
        "greenr-classifier version 7 has no Keras model in its training run: train and deploy a new one",
    )
    await upload(user, "single-upload", ("flower.jpg", jpeg(YELLOW)))
    await user.should_see(marker="explanation-toggle", retries=RETRIES)

    user.find(marker="explanation-toggle").click()

    await user.should_see("has no Keras model in its training run", retries=RETRIES)
    assert fake_api.state.explanation_calls == 1
    toggle = user.find(marker="explanation-toggle").elements.pop()
    assert isinstance(toggle, ui.switch)
    assert toggle.value is False


@pytest.mark.asyncio
async def test_a_web_app_without_a_valid_key_tells_the_operator(
    fake_api: FakeApiServer, open_user: OpenUser
) -> None:
    async with open_user(web_config(fake_api.url, api_key="greenr_0123456789ab_wrong")) as user:
        await user.open("/")
        await upload(user, "single-upload", ("flower.jpg", jpeg(YELLOW)))
        await user.should_see("The web app has no valid key for the prediction API", retries=RETRIES)
    assert fake_api.state.predictions == []


@pytest.mark.asyncio
async def test_an_api_error_message_is_shown_as_is(user: User, fake_api: FakeApiServer) -> None:
    fake_api.state.max_upload_bytes = 1_000  # the API is stricter than the page

    await upload(user, "single-upload", ("flower.jpg", jpeg(YELLOW)))

    await user.should_see("flower.jpg is too large: the limit is 1000 bytes.", retries=RETRIES)
    await user.should_not_see(marker="api-banner")


@pytest.mark.asyncio
async def test_a_file_over_the_limit_is_refused_before_sending(
    fake_api: FakeApiServer, open_user: OpenUser
) -> None:
    photo = jpeg(YELLOW)
    async with open_user(web_config(fake_api.url, max_upload_bytes=len(photo) - 1)) as user:
        await user.open("/")
        await upload(user, "single-upload", ("flower.jpg", photo))

        await user.should_see("flower.jpg was not sent", retries=RETRIES)
    assert fake_api.state.predict_calls == 0


@pytest.mark.asyncio
async def test_files_the_browser_refuses_are_named(user: User) -> None:
    # What REJECTED_JS_HANDLER emits when Quasar refuses a file over `max-file-size`.
    rejected = [{"name": "huge.jpg", "size": 20_000_000, "reason": "max-file-size"}]

    upload_element(user, "single-upload")
    user.find(marker="single-upload").trigger("rejected", rejected)

    await user.should_see("Not sent (larger than 10 MB per photo): huge.jpg.")


# ---------------------------------------------------------------- many photos


@pytest.mark.asyncio
async def test_many_photos_give_a_table_and_a_csv(user: User) -> None:
    await upload(
        user,
        "batch-upload",
        ("a-flower.jpg", jpeg(YELLOW, seed=1)),
        ("b-lawn.jpg", jpeg(GREEN, seed=2)),
        ("=c-notes.jpg", b"not a photo"),
    )

    await user.should_see("3 photos: 1 dandelion, 1 grass, 1 not classified.", retries=RETRIES)
    rows = table(user, "batch-table").rows
    assert [(row["filename"], row["label"]) for row in rows] == [
        ("a-flower.jpg", "dandelion"),
        ("b-lawn.jpg", "grass"),
        ("=c-notes.jpg", "—"),
    ]
    assert rows[0]["confidence"].endswith(" %")
    assert rows[2]["error"] == "=c-notes.jpg is not an image this model can read."

    user.find(marker="download-csv").click()
    response = await user.download.next(timeout=5)

    exported = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))
    assert [row["filename"] for row in exported] == ["a-flower.jpg", "b-lawn.jpg", "'=c-notes.jpg"]
    assert [row["label"] for row in exported] == ["dandelion", "grass", ""]
    assert float(exported[0]["p_dandelion"]) + float(exported[0]["p_grass"]) == pytest.approx(1.0)
    assert exported[2]["error_code"] == "invalid_image"


@pytest.mark.asyncio
async def test_too_many_photos_are_refused_before_sending(
    fake_api: FakeApiServer, open_user: OpenUser
) -> None:
    async with open_user(web_config(fake_api.url, max_batch_files=2)) as user:
        await user.open("/")
        await upload(user, "batch-upload", *[(f"{i}.jpg", jpeg(GREEN, seed=i)) for i in range(3)])

        await user.should_see("3 photos were selected; send at most 2 at once.", retries=RETRIES)
    assert fake_api.state.predict_calls == 0


# ---------------------------------------------------------------- history


@pytest.mark.asyncio
async def test_history_is_paginated_and_takes_feedback(user: User, fake_api: FakeApiServer) -> None:
    await upload(user, "batch-upload", *[(f"{i:02d}.jpg", jpeg(GREEN, seed=i)) for i in range(25)])
    await user.should_see("25 photos: 0 dandelion, 25 grass.", retries=RETRIES)

    user.find("History").click()

    await user.should_see("Rows 1–20 of 25", retries=RETRIES)
    history = table(user, "history-table")
    assert history.rows[0]["filename"] == "24.jpg"  # newest first
    user.find(marker="history-next").click()
    await user.should_see("Rows 21–25 of 25", retries=RETRIES)
    assert [row["filename"] for row in history.rows] == ["04.jpg", "03.jpg", "02.jpg", "01.jpg", "00.jpg"]

    row = history.rows[-1]
    user.find(marker="history-table").trigger(
        "selection", {"added": True, "rows": [row], "keys": [row["id"]]}
    )
    await user.should_see("00.jpg: predicted grass. What does it show?")
    user.find(marker="history-dandelion").click()

    await user.should_see("Thanks: recorded as dandelion (the model was wrong).", retries=RETRIES)
    assert fake_api.state.feedback[-1]["prediction_id"] == row["id"]
    assert history.rows[-1]["feedback"] == "dandelion (wrong)"


# ---------------------------------------------------------------- API down


@pytest.mark.asyncio
async def test_api_down_is_said_in_plain_words_with_retry(open_user: OpenUser) -> None:
    async with open_user(web_config(f"http://127.0.0.1:{free_port()}")) as user:
        await user.open("/")

        await user.should_see("API down", retries=RETRIES)
        await user.should_see("The prediction service is unavailable.")
        await user.should_see("is not reachable (nothing answers there): start it, then retry.")
        await user.should_see(marker="retry")
        await user.should_see("Model: unknown")

        await upload(user, "single-upload", ("flower.jpg", jpeg(YELLOW)))
        await user.should_see(
            "flower.jpg was not classified: the prediction service is unavailable.", retries=RETRIES
        )
        await user.should_not_see("Traceback")


@pytest.mark.asyncio
async def test_retry_redoes_the_failed_upload_once_the_api_is_back(open_user: OpenUser) -> None:
    port = free_port()
    # The API starts while the page runs but stops after it: stopping joins the server's thread,
    # which would block the page's event loop meanwhile.
    with ExitStack() as api_context:
        async with open_user(web_config(f"http://127.0.0.1:{port}")) as user:
            await user.open("/")
            await upload(user, "single-upload", ("flower.jpg", jpeg(YELLOW)))
            await user.should_see("flower.jpg was not classified", retries=RETRIES)

            api_context.enter_context(FakeApiServer(port=port))
            user.find(marker="retry").click()

            await user.should_see(marker="predicted-label", retries=RETRIES)
            await user.should_see("API ready")
            await user.should_not_see(marker="api-banner")


@pytest.mark.asyncio
async def test_model_server_unavailable_shows_the_banner(user: User, fake_api: FakeApiServer) -> None:
    await user.should_see("API ready", retries=RETRIES)
    fake_api.state.mode = "model_down"

    await upload(user, "single-upload", ("flower.jpg", jpeg(YELLOW)))

    await user.should_see(
        "cannot classify photos right now: the model server is unavailable", retries=RETRIES
    )
    user.find(marker="retry").click()
    await user.should_see("API not ready", retries=RETRIES)
    await user.should_see("The prediction service is not ready.")


@pytest.mark.asyncio
async def test_the_banner_goes_once_a_prediction_works_again(user: User, fake_api: FakeApiServer) -> None:
    fake_api.state.mode = "model_down"
    await upload(user, "single-upload", ("flower.jpg", jpeg(YELLOW)))
    await user.should_see(marker="api-banner", retries=RETRIES)

    fake_api.state.mode = "ok"
    await upload(user, "single-upload", ("flower.jpg", jpeg(YELLOW)))

    await user.should_see(marker="predicted-label", retries=RETRIES)
    await user.should_not_see(marker="api-banner")
    await user.should_see("API ready")


@pytest.mark.asyncio
async def test_a_slow_api_is_reported_after_the_timeout(user: User, fake_api: FakeApiServer) -> None:
    fake_api.state.mode = "slow"
    fake_api.state.slow_seconds = 4.0

    await upload(user, "single-upload", ("flower.jpg", jpeg(YELLOW)))

    await user.should_see("did not answer within 2 s", retries=RETRIES)


# ---------------------------------------------------------------- as deployed: script and browser


def web_app(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `scripts/web_app.sh COMMAND`."""
    return run_script(WEB_APP_SCRIPT, command, env)


def wait_for_text(driver: webdriver.Chrome, text: str, timeout: float = 20) -> None:
    """Wait until an element of the page shows `text`."""
    query = f'//*[not(self::script) and contains(normalize-space(text()), "{text}")]'
    WebDriverWait(driver, timeout).until(
        lambda d: any(e.is_displayed() for e in d.find_elements(By.XPATH, query))
    )


def loaded_preview(driver: webdriver.Chrome) -> str | None:
    """The preview image's source once the browser has decoded it, else None.

    Read in one script call: NiceGUI replaces the <img> when its source changes, so an element
    found first and read afterwards can already be gone (a stale element reference).
    """
    source: str | None = driver.execute_script(
        "const i = document.querySelector('.q-img img');"
        " return i && i.complete && i.naturalWidth > 0 ? i.src : null;"
    )
    return source


@pytest.mark.browser
@pytest.mark.slow
def test_a_real_photo_in_a_real_browser(
    fake_api: FakeApiServer,
    chromium: webdriver.Chrome,
    web_app_env: Callable[[str], dict[str, str]],
    tmp_path: Path,
) -> None:
    photo = sorted((load_settings().source_dir / "dandelion").glob("*.jpg"))[0]
    env = web_app_env(fake_api.url)
    started = web_app("start", env)
    assert started.returncode == 0, started.stderr
    try:
        status = web_app("status", env)
        assert status.returncode == 0, status.stdout + status.stderr
        assert f"prediction API at {fake_api.url}" in status.stdout

        chromium.get(f"http://127.0.0.1:{env['GREENR_UI_PORT']}/")
        wait_for_text(chromium, "API ready")
        wait_for_text(chromium, "Model: greenr-classifier v7")
        file_input = chromium.find_element(By.CSS_SELECTOR, ".q-uploader input[type=file]")
        file_input.send_keys(str(photo))

        wait_for_text(chromium, "Confidence")
        wait_for_text(chromium, photo.name)
        predicted = fake_api.state.predictions[-1]
        assert predicted["filename"] == photo.name
        wait_for_text(chromium, predicted["label"])
        chromium.find_element(By.XPATH, f'//button[contains(., "{predicted["label"].capitalize()}")]').click()
        wait_for_text(chromium, f"Thanks: recorded as {predicted['label']} (the model was right).")
        WebDriverWait(chromium, 10).until(loaded_preview)

        screenshot = tmp_path / "web-app.png"
        chromium.save_screenshot(str(screenshot))
        print(f"screenshot: {screenshot}")
        console: list[dict[str, str]] = chromium.get_log("browser")  # type: ignore[no-untyped-call]
        severe = [entry for entry in console if entry.get("level") == "SEVERE"]
        assert not severe, severe
        # The web app's server held the key: the API saw it on every call, the browser never did.
        assert fake_api.state.refused_calls == 0
        assert FAKE_API_KEY not in chromium.page_source
    finally:
        stopped = web_app("stop", env)
    assert stopped.returncode == 0, stopped.stderr
    assert web_app("status", env).returncode == 3


@pytest.mark.browser
@pytest.mark.slow
def test_a_neither_answer_in_a_real_browser(
    fake_api: FakeApiServer,
    chromium: webdriver.Chrome,
    web_app_env: Callable[[str], dict[str, str]],
    tmp_path: Path,
) -> None:
    """A picture the API answers "neither": the page says so, why, still shows the probabilities,
    and the Neither button records that answer."""
    picture = tmp_path / "sky.jpg"
    picture.write_bytes(jpeg(BLUE))
    env = web_app_env(fake_api.url)
    started = web_app("start", env)
    assert started.returncode == 0, started.stderr
    # The browser is shared: drop what an earlier test's page logged (its server has stopped).
    chromium.get_log("browser")  # type: ignore[no-untyped-call]
    try:
        chromium.get(f"http://127.0.0.1:{env['GREENR_UI_PORT']}/")
        wait_for_text(chromium, "API ready")
        file_input = chromium.find_element(By.CSS_SELECTOR, ".q-uploader input[type=file]")
        file_input.send_keys(str(picture))

        wait_for_text(chromium, "This doesn't look like a dandelion or grass")
        predicted = fake_api.state.predictions[-1]
        assert predicted["label"] == "neither"
        # Under the title, the reason without the title again: "Its open-set score ... threshold ...".
        wait_for_text(chromium, "Its open-set score " + predicted["reason"].split(": its open-set score ")[1])
        assert chromium.find_element(By.TAG_NAME, "body").text.count("doesn't look like") == 1
        wait_for_text(chromium, "Confidence")
        bars = chromium.find_elements(By.CSS_SELECTOR, ".q-linear-progress")
        assert len(bars) == 2
        buttons = [button.text.strip() for button in chromium.find_elements(By.CSS_SELECTOR, "button")]
        assert {"DANDELION", "GRASS", "NEITHER"} <= {text.upper() for text in buttons}
        chromium.find_element(By.XPATH, '//button[contains(., "Neither")]').click()
        wait_for_text(chromium, "Thanks: recorded as neither (the model was right).")
        assert fake_api.state.feedback[-1]["label"] == "neither"
        console: list[dict[str, str]] = chromium.get_log("browser")  # type: ignore[no-untyped-call]
        assert not [entry for entry in console if entry.get("level") == "SEVERE"]
    finally:
        stopped = web_app("stop", env)
    assert stopped.returncode == 0, stopped.stderr


@pytest.mark.browser
@pytest.mark.slow
def test_what_the_model_looked_at_in_a_real_browser(
    fake_api: FakeApiServer,
    chromium: webdriver.Chrome,
    web_app_env: Callable[[str], dict[str, str]],
) -> None:
    photo = sorted((load_settings().source_dir / "dandelion").glob("*.jpg"))[0]
    env = web_app_env(fake_api.url)
    started = web_app("start", env)
    assert started.returncode == 0, started.stderr
    try:
        chromium.get(f"http://127.0.0.1:{env['GREENR_UI_PORT']}/")
        wait_for_text(chromium, "API ready")
        chromium.find_element(By.CSS_SELECTOR, ".q-uploader input[type=file]").send_keys(str(photo))
        wait_for_text(chromium, "Show what the model looked at")
        photo_source = WebDriverWait(chromium, 10).until(loaded_preview)

        chromium.find_element(By.XPATH, '//*[contains(@class, "q-toggle")]').click()
        wait_for_text(chromium, "Red: where the model saw")
        WebDriverWait(chromium, 10).until(lambda d: loaded_preview(d) not in (None, photo_source))
        assert fake_api.state.explanation_calls == 1

        chromium.find_element(By.XPATH, '//*[contains(@class, "q-toggle")]').click()
        WebDriverWait(chromium, 10).until(lambda d: loaded_preview(d) == photo_source)
        chromium.find_element(By.XPATH, '//*[contains(@class, "q-toggle")]').click()  # on again: kept
        WebDriverWait(chromium, 10).until(lambda d: loaded_preview(d) not in (None, photo_source))
        assert fake_api.state.explanation_calls == 1
        console: list[dict[str, str]] = chromium.get_log("browser")  # type: ignore[no-untyped-call]
        # This page's errors only: the shared browser may still log an earlier test's stopped app.
        ours = f"127.0.0.1:{env['GREENR_UI_PORT']}"
        severe = [e for e in console if e.get("level") == "SEVERE" and ours in e.get("message", "")]
        assert not severe, severe
    finally:
        stopped = web_app("stop", env)
    assert stopped.returncode == 0, stopped.stderr


def test_web_app_script_starts_answers_and_stops(
    web_app_env: Callable[[str], dict[str, str]], tmp_path: Path
) -> None:
    env = web_app_env(f"http://127.0.0.1:{free_port()}")  # the page must start without an API
    try:
        first = web_app("start", env)
        assert first.returncode == 0, first.stdout + first.stderr
        again = web_app("start", env)
        assert again.returncode == 0
        assert "already running" in again.stdout
        state = Path(env["GREENR_HOME"]) / "web"
        pid = int((state / "web.pid").read_text())
        assert web_app("status", env).returncode == 0
    finally:
        stopped = web_app("stop", env)
    assert stopped.returncode == 0, stopped.stderr
    deadline = time.monotonic() + 5
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(f"/proc/{pid}").exists()
    assert not (state / "web.pid").exists()
    assert web_app("status", env).returncode == 3
    assert "not running" in web_app("stop", env).stdout


def test_web_app_script_reports_a_bad_setting(web_app_env: Callable[[str], dict[str, str]]) -> None:
    env = web_app_env("http://127.0.0.1:9") | {"GREENR_MAX_UPLOAD_BYTES": "-1"}

    result = web_app("start", env)

    assert result.returncode == 1
    assert "GREENR_MAX_UPLOAD_BYTES" in result.stderr
    assert "Traceback" not in result.stderr
