"""The Kommune's page: what is due and what is in; upload, replace and hand in the Jahresbericht."""

from __future__ import annotations

from typing import Annotated

import filetype  # type: ignore[import-untyped]
from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlmodel import Session

from kim_workflow.core.upload_rule import UploadRefused, check_upload, format_size
from kim_workflow.portal.context import CSRF_FIELD, Portal, check_csrf, send_soon
from kim_workflow.portal.upload_stream import BadUpload, UploadTooLarge, receive_upload
from kim_workflow.services.errors import UseCaseError
from kim_workflow.services.portal_pages import ags_of, kommune_year
from kim_workflow.services.portal_sessions import SignedIn
from kim_workflow.services.portal_uploads import current_upload, download, staging_path, store_report, submit_report

MULTIPART_OVERHEAD = 64 * 1024  # the form's other fields and boundaries around the file
NOTICES = {
    "hochgeladen": "Die Datei ist gespeichert. Sie können sie bis zum Einreichen ersetzen.",
    "eingereicht": "Vielen Dank! Ihr Jahresbericht ist eingereicht; eine Bestätigung kommt per E-Mail.",
    "fragebogen": "Vielen Dank! Ihr Fragebogen ist eingereicht; eine Bestätigung kommt per E-Mail.",
}


def router(portal: Portal) -> APIRouter:
    r = APIRouter(prefix="/kommune")

    def kommune_user(request: Request, session: Session | None = None) -> SignedIn | None:
        if session is None:
            with portal.read() as own:
                return kommune_user(request, own)
        user = portal.user(session, request)
        return user if user is not None and user.kommune_id is not None and user.year is not None else None

    def to_start() -> Response:
        return RedirectResponse("/", status_code=303)

    def show(request: Request, user: SignedIn, *, status_code: int = 200, error: str | None = None,
             notice: str | None = None, session: Session | None = None) -> Response:  # fmt: skip
        assert user.kommune_id is not None and user.year is not None
        if session is None:
            with portal.read() as own:
                return show(request, user, status_code=status_code, error=error, notice=notice, session=own)
        view = kommune_year(session, kommune_id=user.kommune_id, year=user.year, today=portal.today(),
                            contact_name=user.contact_name)  # fmt: skip
        return portal.page(
            request, "kommune.html", status_code=status_code, view=view, error=error, notice=notice, ministry=False,
            limit_text=format_size(portal.settings.portal_upload_limit_bytes),
        )  # fmt: skip

    @r.get("")
    def page(request: Request) -> Response:
        with portal.read() as session:  # one read-only transaction for the whole page
            user = kommune_user(request, session)
            if user is None:
                return to_start()
            return show(request, user, notice=NOTICES.get(request.query_params.get("ok", "")), session=session)

    @r.post("/jahresbericht")
    async def upload(request: Request) -> Response:
        user = kommune_user(request)
        if user is None:
            return to_start()
        assert user.kommune_id is not None and user.year is not None
        limit = portal.settings.portal_upload_limit_bytes
        too_large = f"Die Datei ist größer als {format_size(limit)}. Bitte laden Sie eine kleinere Datei hoch."
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit + MULTIPART_OVERHEAD:
            return show(request, user, status_code=413, error=too_large)  # refused before reading the body
        with portal.db() as session:
            ags = ags_of(session, user.kommune_id)
        staged = staging_path(portal.settings.upload_dir, user.year, ags)
        try:
            received = await receive_upload(request.headers.get("content-type", ""), request.stream(),
                                            target=staged, limit=limit)  # fmt: skip
            check_csrf(request, received.fields.get(CSRF_FIELD))
            if not received.has_file:
                raise UploadRefused("Bitte wählen Sie eine Datei aus.")
            checked = check_upload(filetype.guess_mime(received.head), received.size, limit)
            with portal.db() as session:
                store_report(
                    session, upload_root=portal.settings.upload_dir, staged=staged, ags=ags, year=user.year,
                    original_name=received.filename, size=checked.size, sha256=received.sha256,
                    file_type=checked.file_type, contact_id=user.contact_id, now=portal.now(),
                )  # fmt: skip
        except UploadTooLarge:
            return show(request, user, status_code=413, error=too_large)
        except BadUpload:
            return show(request, user, status_code=400, error="Das Formular ist unvollständig angekommen.")
        except (UploadRefused, UseCaseError) as exc:
            return show(request, user, status_code=422, error=str(exc))
        finally:
            staged.unlink(missing_ok=True)  # gone already when it was accepted (renamed into place)
        return RedirectResponse("/kommune?ok=hochgeladen", status_code=303)

    @r.post("/jahresbericht/einreichen")
    def submit(request: Request, background: BackgroundTasks, csrf_token: Annotated[str, Form()] = "") -> Response:
        user = kommune_user(request)
        if user is None:
            return to_start()
        check_csrf(request, csrf_token)
        assert user.kommune_id is not None and user.year is not None
        try:
            with portal.db() as session:
                submit_report(session, portal.settings, ags=ags_of(session, user.kommune_id), year=user.year,
                              contact_id=user.contact_id, today=portal.today(), now=portal.now())  # fmt: skip
        except UseCaseError as exc:
            return show(request, user, status_code=409, error=str(exc))
        background.add_task(send_soon, portal)
        return RedirectResponse("/kommune?ok=eingereicht", status_code=303)

    @r.get("/jahresbericht/datei")
    def own_file(request: Request) -> Response:
        user = kommune_user(request)
        if user is None:
            return to_start()
        assert user.kommune_id is not None and user.year is not None
        with portal.db() as session:
            upload = current_upload(session, user.kommune_id, user.year)
            if upload is None or upload.id is None:
                return show(request, user, status_code=404, error="Es ist noch keine Datei hochgeladen.")
            found = download(session, upload_root=portal.settings.upload_dir, upload_id=upload.id,
                             actor=f"contact:{user.contact_id}", now=portal.now())  # fmt: skip
        return attachment(found.path, found.name, found.content_type)

    return r


def attachment(path: object, name: str, content_type: str) -> Response:
    """A stored file, only ever as a download with our own safe name."""
    return FileResponse(path, media_type=content_type, filename=name, content_disposition_type="attachment")  # type: ignore[arg-type]
