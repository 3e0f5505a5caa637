"""The record's API, under /api/v1/ (portal/urls.py): one patient's record at patients/<patient_id>/."""

from django.urls import path

from records.api import views

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
]
