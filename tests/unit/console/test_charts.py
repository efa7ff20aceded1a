"""The console's server-rendered SVG charts: accessible, escaped, on whole axis steps."""

from __future__ import annotations

import re

from console import charts
from console.charts import Series, _nice_top


def test_the_axis_top_is_four_whole_steps_at_least_the_largest_value():
    assert [_nice_top(v) for v in (0, 1, 5, 10, 99, 150, 2650, 12345)] == [4, 4, 8, 20, 100, 200, 4000, 20000]
    for value in range(0, 5000, 7):
        top = _nice_top(value)
        assert top >= value and top % 4 == 0


def test_a_bar_chart_has_its_title_and_description_and_one_bar_per_value_with_its_figure():
    svg = str(charts.bars("ch-x", "Заказы <по неделям>", "Цифры — в таблице", ["01.12", "08.12"], [Series("Все", "chart__s1", [3, 0]), Series("С бонусами", "chart__s2", [1, 2])]))
    assert svg.startswith('<svg class="chart"') and 'role="img"' in svg and 'aria-labelledby="ch-x-t ch-x-d"' in svg
    assert '<title id="ch-x-t">Заказы &lt;по неделям&gt;</title>' in svg and '<desc id="ch-x-d">' in svg
    assert len(re.findall(r"<rect ", svg)) == 4
    assert "<title>08.12: С бонусами — 2</title>" in svg and "style=" not in svg and "<script" not in svg


def test_a_line_chart_draws_a_point_per_value_and_a_line_per_series():
    svg = str(charts.lines("ch-l", "Обязательства", "по дням", ["01.12", "02.12", "03.12"], [Series("Всего", "chart__s1", [10, 20, 30])], fmt=lambda v: f"{v} б."))
    assert svg.count("<circle ") == 3 and svg.count("<polyline ") == 1 and "<title>03.12: Всего — 30 б.</title>" in svg
