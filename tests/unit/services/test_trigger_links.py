"""The link the partner's messages carry to the dashboard."""

from shared.services.triggers import NO_DASHBOARD_LINK, dashboard_link


def test_the_dashboard_link_is_the_shop_with_the_kits_anchor():
    assert dashboard_link("https://shop.example/?utm=1#top") == "https://shop.example/?utm=1#kopilka-partner"
    assert dashboard_link("https://shop.example") == "https://shop.example/#kopilka-partner"
    assert dashboard_link("") == NO_DASHBOARD_LINK
