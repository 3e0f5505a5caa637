from django.urls import path

from proxy.views import acting, requests, review, sharing

app_name = "proxy"

urlpatterns = [
    path("acting-for/", acting.switch_subject, name="switch_subject"),
    path("invitations/<str:token>/", acting.invitation, name="invitation"),
    path("sharing/", sharing.sharing, name="sharing"),
    path("sharing/invite/", sharing.invite, name="invite"),
    path("sharing/<uuid:grant_id>/", sharing.grant_edit, name="grant_edit"),
    path("sharing/<uuid:grant_id>/revoke/", sharing.grant_revoke, name="grant_revoke"),
    path("care-for/request/", requests.request_access, name="request_access"),
    path("care-for/requests/", requests.my_requests, name="my_requests"),
]

# The same review pages for an organization's admins and for the platform's.
for prefix, name_prefix in (("staff/<slug:org_slug>/", "org_"), ("platform/", "platform_")):
    urlpatterns += [
        path(f"{prefix}access-requests/", review.queue, name=f"{name_prefix}queue"),
        path(f"{prefix}access-requests/<int:access_request_id>/", review.review, name=f"{name_prefix}review"),
        path(
            f"{prefix}access-requests/<int:access_request_id>/documents/<int:document_id>/",
            review.document,
            name=f"{name_prefix}document",
        ),
        path(f"{prefix}grants/", review.grants, name=f"{name_prefix}grants"),
        path(f"{prefix}grants/<uuid:grant_id>/", review.grant_detail, name=f"{name_prefix}grant"),
    ]
