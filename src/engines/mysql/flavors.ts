import type { Flavor, FlavorName } from './flavor.ts';
import { mariadb } from './mariadb.ts';
import { mysql80, mysql84 } from './mysql.ts';

export type { Flavor, FlavorName } from './flavor.ts';
export { flavorNameFromVersion } from './mysql.ts';

export function flavorFor(name: FlavorName): Flavor {
  switch (name) {
    case 'mariadb':
      return mariadb;
    case 'mysql80':
      return mysql80;
    case 'mysql84':
      return mysql84;
  }
}
