// Opens the first failed step's evidence when the address ends in #expand-first (handy in a link), and lets a
// reader open or close all evidence at once.
(function () {
  function all(open) { document.querySelectorAll('details.evidence').forEach(function (d) { d.open = open; }); }
  var b = document.getElementById('toggle-evidence');
  if (b) {
    b.addEventListener('click', function () {
      var o = b.getAttribute('data-open') !== '1';
      all(o);
      b.setAttribute('data-open', o ? '1' : '0');
      b.textContent = o ? 'Collapse all evidence' : 'Expand all evidence';
    });
  }
  if (location.hash === '#expand-first') {
    var d = document.querySelector('details.evidence');
    if (d) { d.open = true; d.scrollIntoView(); }
  }
})();
