"""The record's API, under /api/v1/ (portal/urls.py): one patient's record at patients/<patient_id>/."""

from django.urls import path

from records.api import views, views_entries, views_privacy, views_sharing

PATIENT = "patients/<uuid:patient_id>/"

urlpatterns = [
    path(f"{PATIENT}summary/", views.SummaryView.as_view(), name="api-record-summary"),
    path(f"{PATIENT}timeline/", views.TimelineView.as_view(), name="api-record-timeline"),
    path(f"{PATIENT}results/", views.ResultsView.as_view(), name="api-record-results"),
    path(f"{PATIENT}results/<int:result_id>/", views.ResultView.as_view(), name="api-record-result"),
    path(f"{PATIENT}sections/<slug:section>/", views.SectionView.as_view(), name="api-record-section"),
    path(f"{PATIENT}items/<int:item_id>/", views.ItemView.as_view(), name="api-record-item"),
    path(f"{PATIENT}preventive-care/", views.PreventiveCareView.as_view(), name="api-record-preventive-care"),
    path(f"{PATIENT}sources/", views.SourcesView.as_view(), name="api-record-sources"),
    # Files: the record downloaded, a note's attachment.
    path(f"{PATIENT}download/", views.DownloadView.as_view(), name="api-record-download"),
    path(
        f"{PATIENT}items/<int:item_id>/attachments/<int:index>/",
        views.AttachmentView.as_view(),
        name="api-record-attachment",
    ),
    # SMART Health Links.
    path(f"{PATIENT}share-links/", views_sharing.ShareLinksView.as_view(), name="api-record-share-links"),
    path(f"{PATIENT}share-links/<int:link_id>/", views_sharing.ShareLinkView.as_view(), name="api-record-share-link"),
    path(
        f"{PATIENT}share-links/<int:link_id>/revoke/",
        views_sharing.RevokeShareLinkView.as_view(),
        name="api-record-share-link-revoke",
    ),
    # What the person writes down themselves.
    path(f"{PATIENT}journal/", views_entries.JournalView.as_view(), name="api-record-journal"),
    path(
        f"{PATIENT}journal/<int:entry_id>/", views_entries.JournalEntryView.as_view(), name="api-record-journal-entry"
    ),
    path(
        f"{PATIENT}journal/<int:entry_id>/question/",
        views_entries.JournalQuestionView.as_view(),
        name="api-record-journal-question",
    ),
    path(f"{PATIENT}measurements/", views_entries.MeasurementsView.as_view(), name="api-record-measurements"),
    path(
        f"{PATIENT}measurements/<int:measurement_id>/",
        views_entries.MeasurementView.as_view(),
        name="api-record-measurement",
    ),
    # The patient's privacy choices (the patient alone, for their own record).
    path(f"{PATIENT}privacy/", views_privacy.PrivacyView.as_view(), name="api-record-privacy"),
    path(f"{PATIENT}privacy/results-wait/", views_privacy.ResultsWaitView.as_view(), name="api-record-results-wait"),
    path(
        f"{PATIENT}privacy/waiting/<int:result_id>/show/",
        views_privacy.ReleaseResultView.as_view(),
        name="api-record-release-result",
    ),
    path(
        f"{PATIENT}privacy/helpers/<uuid:grant_id>/kinds/",
        views_privacy.PrivateKindsView.as_view(),
        name="api-record-private-kinds",
    ),
    path(f"{PATIENT}items/<int:item_id>/show/", views_privacy.ShowItemView.as_view(), name="api-record-show-item"),
    path(
        f"{PATIENT}privacy/shown/<int:share_id>/stop/",
        views_privacy.StopShowingView.as_view(),
        name="api-record-stop-showing",
    ),
]
