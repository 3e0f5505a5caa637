from django.urls import path

from proxy.api import views

urlpatterns = [
    path("me/", views.MeView.as_view(), name="api-me"),
    path("subjects/", views.SubjectsView.as_view(), name="api-subjects"),
    path("grants/", views.GrantsView.as_view(), name="api-grants"),
    path("grants/<uuid:grant_id>/", views.GrantDetailView.as_view(), name="api-grant"),
    path("grants/<uuid:grant_id>/revoke/", views.GrantRevokeView.as_view(), name="api-grant-revoke"),
    path("access-requests/", views.AccessRequestsView.as_view(), name="api-access-requests"),
    path("review/access-requests/", views.ReviewQueueView.as_view(), name="api-review-queue"),
    path(
        "review/access-requests/<int:access_request_id>/approve/",
        views.ApproveView.as_view(),
        name="api-review-approve",
    ),
    path("review/access-requests/<int:access_request_id>/deny/", views.DenyView.as_view(), name="api-review-deny"),
]
