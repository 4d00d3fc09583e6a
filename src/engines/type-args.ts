/** The numeric arguments of a column type's parenthesised list ("10,2" -> [10, 2]); others are left out. */
export function typeArgs(list: string | undefined): number[] {
  return (list ?? '')
    .split(',')
    .map((x) => Number(x.trim()))
    .filter((x) => Number.isFinite(x));
}
