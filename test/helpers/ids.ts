// Container ids unique across test files and runs. Fixed-width, so no id is a substring of another
// and a leak check may look for the id inside longer names (cgroup directories, command lines).
let counter = 0;

export function uniqueId(prefix = 'c'): string {
  counter += 1;
  return `rt-${prefix}-${process.pid}-${String(counter).padStart(4, '0')}`;
}
