/** The lines of a plain-text table: each column as wide as its widest cell, two spaces between
 *  columns, no trailing blanks (the layout `runt list` has always printed, as runc's does). */
export function tableLines(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i] + 2))
      .join('')
      .trimEnd(),
  );
}
