"""Console routes (DESIGN.md "Server"): /login/, /devices/, /devices/{id}/, /audit/."""


urlpatterns: list[object] = []
