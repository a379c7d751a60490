// One-off conversion of Natural Earth 110m countries (npm world-atlas@2.0.2, TopoJSON) to the
// GeoJSON the maps load. See ../../vendor/README.md. Run with the two packages unpacked here.
const topojson = require('./topojson-client-3.1.0/package/dist/topojson-client.js');
const topo = require('./world-atlas-2.0.2/package/countries-110m.json');
const geo = topojson.feature(topo, topo.objects.countries);
const round = (c) => Array.isArray(c[0]) ? c.map(round) : [Math.round(c[0] * 100) / 100, Math.round(c[1] * 100) / 100];
geo.features = geo.features.map((f) => ({
  type: 'Feature',
  id: f.id,
  properties: { name: f.properties.name },
  geometry: f.geometry && { type: f.geometry.type, coordinates: round(f.geometry.coordinates) },
}));
process.stdout.write(JSON.stringify(geo));
