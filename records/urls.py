from django.urls import path

from records.views import connections, downloads, jwks, notes, patient_entries, privacy, record, share, shl, upload

app_name = "records"

urlpatterns = [
    path(".well-known/jwks.json", jwks.jwks, name="jwks"),
    path("records/", record.summary, name="summary"),
    path("records/glossary/", record.glossary, name="glossary"),
    path("records/timeline/", record.timeline, name="timeline"),
    path("records/results/", record.results, name="results"),
    path("records/results/<int:result_id>/", record.result, name="result"),
    path("records/items/<int:item_id>/", record.item, name="item"),
    path("records/items/<int:item_id>/show/", privacy.show_item, name="show_item"),
    path("records/privacy/", privacy.privacy_page, name="privacy"),
    path("records/privacy/results-wait/", privacy.results_wait, name="results_wait"),
    path("records/privacy/waiting/<int:result_id>/show/", privacy.release_result, name="release_result"),
    path("records/privacy/helpers/<uuid:grant_id>/", privacy.private_kinds, name="private_kinds"),
    path("records/privacy/shown/<int:share_id>/stop/", privacy.stop_showing, name="stop_showing"),
    path("records/items/<int:item_id>/attachments/<int:index>/", notes.attachment, name="attachment"),
    path("records/download/", downloads.download_page, name="download"),
    path("records/download/file/", downloads.download, name="download_file"),
    path("records/journal/", patient_entries.journal, name="journal"),
    path("records/journal/print/", patient_entries.journal_print, name="journal_print"),
    path("records/journal/<int:entry_id>/edit/", patient_entries.journal_edit, name="journal_edit"),
    path("records/journal/<int:entry_id>/delete/", patient_entries.journal_delete, name="journal_delete"),
    path("records/journal/<int:entry_id>/question/", patient_entries.journal_question, name="journal_question"),
    path("records/measurements/", patient_entries.measurements, name="measurements"),
    path(
        "records/measurements/<int:measurement_id>/delete/",
        patient_entries.measurement_delete,
        name="measurement_delete",
    ),
    path("records/upload/", upload.upload, name="upload"),
    path("records/uploads/<int:run_id>/", upload.upload_run, name="upload_run"),
    path("records/connect/", connections.directory, name="directory"),
    path("records/connect/<int:system_id>/", connections.connect, name="connect"),
    path("records/callback/", connections.callback, name="callback"),
    path("records/connections/<int:connection_id>/", connections.connection_page, name="connection"),
    path("records/connections/<int:connection_id>/sync/", connections.sync_now, name="sync_now"),
    path("records/connections/<int:connection_id>/disconnect/", connections.disconnect, name="disconnect"),
    path("records/share/", share.share_links, name="share_links"),
    path("records/share/<int:link_id>/", share.share_link, name="share_link"),
    path("records/share/<int:link_id>/revoke/", share.revoke_share_link, name="revoke_share_link"),
    # SMART Health Links, public: our viewer, a link's manifest, and a file's short-lived location.
    path("shl/view/", shl.viewer, name="shl_viewer"),
    path("shl/<str:token>/", shl.manifest, name="shl_manifest"),
    path("shl/<str:token>/files/<str:ticket>/", shl.shl_file, name="shl_file"),
    # Last: a section's slug must never shadow the paths above.
    path("records/<slug:section>/", record.section, name="section"),
]
