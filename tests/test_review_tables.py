"""Table passages back into rows and cells, in the serialisation the extractors write (rows on lines,
cells joined by " | "), checked against a real extracted table."""

from __future__ import annotations

from pipeline.extract.pdf import table_text
from pipeline.review.tables import Cell, table_view


def test_rows_and_cells_come_back_from_the_extractors_serialisation():
    rows = [["Directorate", "Budget £m", "Forecast £m"], ["Adult <Social> Care", "92.4", "100.6"],
            [None, None, None], ["Total", "210.9", None]]
    view = table_view(table_text(rows))
    assert [[c.text for c in row] for row in view.rows] == [
        ["Directorate", "Budget £m", "Forecast £m"], ["Adult <Social> Care", "92.4", "100.6"], ["Total", "210.9", ""]]
    assert view.more_rows == 0


def test_a_short_row_spans_the_rest_and_a_row_limit_says_what_it_left_out():
    view = table_view("Report of | Director of Finance\nKey decision | Yes | Part 1\nWards\nA | B | C", max_rows=3)
    assert view.rows[0] == [Cell("Report of"), Cell("Director of Finance", 2)]
    assert view.rows[2] == [Cell("Wards", 3)]
    assert view.more_rows == 1
    assert table_view("").rows == []


def test_a_table_passage_is_an_escaped_html_table_in_the_item_view(app, review):
    from review_fixtures import logged_in

    client, _ = logged_in(app, "ana")
    page = client.get(review.item_path("b" * 64, 1, "G004")).text  # the table is the paragraph after it
    table = page.split('class="passage-table"')[1].split("</table>")[0]
    assert "<td>General &lt;fund&gt; balance</td><td>11.2</td><td>7.6</td>" in table
    assert '<td>Total</td><td colspan="2">41.6</td>' in table
    assert " | " not in table
